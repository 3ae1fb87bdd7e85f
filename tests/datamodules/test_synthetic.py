import cv2
import numpy as np
import pytest

from ferlens.datamodules.face_drawing import Part
from ferlens.datamodules.face_shape import FLIP_PERMUTATION, MEAN_SHAPE
from ferlens.datamodules.sources import DataError
from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.datamodules.synthetic_aus import PROTOTYPES


def test_same_seed_gives_identical_arrays_and_other_seed_differs():
    a, b, c = SyntheticFaces(20, 5, 64, seed=3), SyntheticFaces(20, 5, 64, seed=3), SyntheticFaces(20, 5, 64, seed=4)
    for i in (0, 7, 19):
        sa, sb = a[i], b[i]
        np.testing.assert_array_equal(sa.image, sb.image)
        np.testing.assert_array_equal(sa.landmarks, sb.landmarks)
        assert (sa.label, sa.subject) == (sb.label, sb.subject)
        assert not np.array_equal(sa.image, c[i].image)


def test_indexing_labels_subjects_and_classes():
    faces = SyntheticFaces(30, 5, 32)
    assert faces.labels.tolist() == [(i // 5) % 6 for i in range(30)]
    assert faces.subjects[:6] == ["s000", "s001", "s002", "s003", "s004", "s000"]
    assert faces[12].label == 2 and faces[12].subject == "s002"
    assert SyntheticFaces(14, 2, 32, neutral=True).class_names[-1] == "Neutral"
    assert SyntheticFaces(14, 2, 32, neutral=True).labels.max() == 6


@pytest.mark.parametrize("size", [32, 64, 150, 224])
def test_any_image_size(size):
    sample = SyntheticFaces(6, 2, size)[3]
    assert sample.image.shape == (size, size, 3) and sample.image.dtype == np.uint8
    assert sample.landmarks.shape == (68, 2)
    assert (sample.landmarks > 0).all() and (sample.landmarks < size - 1).all()


def test_landmarks_stay_inside_the_image_whatever_the_pose_and_expression():
    faces = SyntheticFaces(600, 30, 64, seed=7)
    landmarks = np.stack([faces[i].landmarks for i in range(0, 600, 2)])
    assert landmarks.min() >= 0 and landmarks.max() <= 63


def test_landmarks_scale_exactly_with_image_size():
    small, large = SyntheticFaces(6, 3, 64, seed=1), SyntheticFaces(6, 3, 128, seed=1)
    for i in range(6):
        np.testing.assert_allclose(small[i].landmarks, (large[i].landmarks + 0.5) / 2 - 0.5, atol=1e-4)


FEATURE_OF_LANDMARK = (
    [(i, {Part.BROW}) for i in range(17, 27)]
    + [(i, {Part.EYE}) for i in range(36, 48)]
    + [(i, {Part.LIP}) for i in range(48, 60)]
    + [(i, {Part.LIP, Part.MOUTH}) for i in range(60, 68)]
    + [(i, {Part.NOSE}) for i in range(27, 36)]
)


@pytest.mark.parametrize("size", [96, 160])
def test_each_landmark_sits_on_the_feature_drawn_for_it(size):
    faces = SyntheticFaces(48, 8, size, seed=5)
    misses = []
    for index in range(0, 48, 3):
        parts = faces.parts(index)
        landmarks = faces[index].landmarks
        for point, allowed in FEATURE_OF_LANDMARK:
            x, y = np.round(landmarks[point]).astype(int)
            window = set(parts[y - 1 : y + 2, x - 1 : x + 2].ravel().tolist())
            if not window & {int(p) for p in allowed}:
                misses.append((index, point, window))
        for point in range(17):  # jaw points lie on the face outline: face and non-face both near
            x, y = np.round(landmarks[point]).astype(int)
            window = set(parts[y - 2 : y + 3, x - 2 : x + 3].ravel().tolist())
            if Part.SKIN not in window or window <= {int(Part.SKIN), int(Part.WRINKLE)}:
                misses.append((index, point, window))
    assert not misses, misses[:10]


def test_mouth_corners_on_lip_pixels_in_the_image_itself():
    faces = SyntheticFaces(12, 3, 128, seed=2)
    for i in range(12):
        sample, parts = faces[i], faces.parts(i)
        lip = sample.image[parts == Part.LIP].astype(float).mean(axis=0)
        skin = sample.image[parts == Part.SKIN].astype(float).mean(axis=0)
        for corner in (48, 54):  # the corner is the lip's tip: lip colour within one pixel of it
            x, y = np.round(sample.landmarks[corner]).astype(int)
            window = sample.image[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).astype(float)
            assert (np.linalg.norm(window - lip, axis=1) < np.linalg.norm(window - skin, axis=1)).any()


def test_au_region_marks_the_expression_features():
    faces = SyntheticFaces(60, 10, 96, seed=0)
    for index in range(0, 60, 10):  # one image per class
        name = faces.class_names[faces[index].label]
        region, parts = faces.au_region(index), faces.parts(index)
        assert region.any(), name
        near_head = cv2.dilate((parts != Part.BACKGROUND).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        assert not region[~near_head].any(), name  # AUs change the head (and what a dropped jaw uncovers), not the scene
        landmarks = faces[index].landmarks
        aus = set(PROTOTYPES[name][0]) | (set(PROTOTYPES[name][1]) if len(PROTOTYPES[name]) > 1 else set())
        if aus & {12, 15, 20, 23, 26}:  # mouth AUs: the region covers a mouth corner
            assert any(region[max(0, y - 2) : y + 3, max(0, x - 2) : x + 3].any() for x, y in np.round(landmarks[[48, 54]]).astype(int)), name
        if aus & {1, 2, 4}:  # brow AUs: the region reaches the brows
            assert region[parts == Part.BROW].any(), name


def test_flip_permutation_mirrors_the_mean_face():
    assert sorted(FLIP_PERMUTATION.tolist()) == list(range(68))
    np.testing.assert_array_equal(FLIP_PERMUTATION[FLIP_PERMUTATION], np.arange(68))
    mirrored = MEAN_SHAPE[FLIP_PERMUTATION] * (-1, 1)
    assert np.abs(mirrored - MEAN_SHAPE).max() < 0.1


def test_bad_sizes_are_refused_in_one_sentence():
    with pytest.raises(DataError, match="num_images >= 1"):
        SyntheticFaces(0, 1, 64)
