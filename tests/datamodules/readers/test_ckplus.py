import shutil

import numpy as np
import pytest

import ferlens.datamodules.readers.ckplus  # noqa: F401  (registers the reader)
from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.readers.ckplus import check_ibug_order
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from tests.datamodules.readers.layouts import ckplus, synthetic_layout_faces

LABELS = CLASSES_7 + ["Contempt", "Happiness", "Unlabelled"]


@pytest.fixture(scope="module")
def faces():
    return synthetic_layout_faces(LABELS, size=64)


def _expected(faces, last_frames=3, neutral_frames=1):
    """key -> (class name, face) of every frame the reader must label."""
    expected = {}
    for face, frames in zip(faces, ckplus.frame_paths(faces), strict=True):
        if face.label in ckplus.CODES:
            expected.update({frame: ("Neutral", face) for frame in frames[:neutral_frames]})
            expected.update({frame: (face.label, face) for frame in frames[-last_frames:]})
    return expected


def _landmark_file(frame):
    return frame.replace("cohn-kanade-images/", "Landmarks/").replace(".png", "_landmarks.txt")


@pytest.mark.parametrize("classes", [CLASSES_6, CLASSES_7], ids=["6", "7"])
def test_ckplus_labels_subjects_and_landmarks(tmp_path, faces, classes):
    ckplus.write(tmp_path, faces)
    index = read_dataset("ckplus", tmp_path, classes)
    expected = {key: value for key, value in _expected(faces).items() if value[0] in classes}
    for name in classes:
        found = {e.key for e in index.entries if index.class_names[e.label] == name}
        assert found == {key for key, (label, _) in expected.items() if label == name}, name
    # 8 labelled sequences besides Contempt's, 3 expression frames each, plus 9 neutral first frames
    assert len(index.entries) == (33 if "Neutral" in classes else 21)
    assert index.dropped == ({"Contempt": 3} if "Neutral" in classes else {"Contempt": 3, "Neutral": 3 + 9})
    assert [e.key for e in index.entries] == sorted(expected)
    for entry in index.entries:
        face = expected[entry.key][1]
        assert entry.subject == ckplus.subject_id(face.subject)
        assert entry.path == tmp_path / entry.key and entry.split is None and entry.box is None
        assert entry.landmarks.dtype == np.float32 and entry.landmarks.shape == (68, 2)
        np.testing.assert_allclose(entry.landmarks, face.landmarks, atol=1e-3)
    assert index.default_detector == "dlib" and index.missing == []
    assert index.notes == ["1 of 10 CK+ sequences have no Emotion file and are not used"]


def test_ckplus_frame_options_and_origin(tmp_path, faces):
    ckplus.write(tmp_path, faces)
    index = read_dataset("ckplus", tmp_path, CLASSES_6, last_frames=2, neutral_frames=0, landmark_origin=0)
    expected = {key: value for key, value in _expected(faces, last_frames=2, neutral_frames=0).items() if value[0] in CLASSES_6}
    assert [e.key for e in index.entries] == sorted(expected)
    assert index.dropped == {"Contempt": 2, "Neutral": 2}
    for entry in index.entries:
        assert index.class_names[entry.label] == expected[entry.key][0]
        np.testing.assert_allclose(entry.landmarks, expected[entry.key][1].landmarks + 1, atol=1e-3)  # the file's 1-based points


def test_ckplus_missing_frames_landmarks_and_points_out_of_order(tmp_path, faces):
    ckplus.write(tmp_path, faces)
    frames = ckplus.frame_paths(faces)
    gone, bare, permuted = frames[0][-1], frames[1][-1], frames[2][-1]
    (tmp_path / gone).unlink()
    (tmp_path / _landmark_file(bare)).unlink()
    (tmp_path / _landmark_file(permuted)).write_text("".join(f"{x} {y}\n" for x, y in faces[2].landmarks[::-1] + 1))
    index = read_dataset("ckplus", tmp_path, CLASSES_7)
    assert index.missing == [gone]
    by_key = {e.key: e for e in index.entries}
    assert gone not in by_key and by_key[bare].landmarks is None and by_key[permuted].landmarks is None
    assert sum(e.landmarks is None for e in index.entries) == 2
    assert "1 CK+ frames without a Landmarks file (the face preparation finds their points)" in index.notes
    assert any(note.startswith(f"1 CK+ landmark files not in iBUG 68-point order, points not used ({permuted}: ") for note in index.notes)


def test_ckplus_malformed_files_are_named(tmp_path, faces):
    ckplus.write(tmp_path, faces[:1])
    emotion = next((tmp_path / "Emotion").rglob("*_emotion.txt"))
    emotion.write_text("   2.5000000e+00\n")
    with pytest.raises(DataError, match=rf"emotion file '{emotion}' holds '2.5000000e\+00' instead of one emotion code 0-7"):
        read_dataset("ckplus", tmp_path, CLASSES_7)
    emotion.write_text("   1.0000000e+00\n")
    landmarks = tmp_path / _landmark_file(ckplus.frame_paths(faces[:1])[0][-1])
    lines = landmarks.read_text().splitlines()
    landmarks.write_text("\n".join(lines[:4] + ["   1.0e+02"] + lines[5:]))
    with pytest.raises(DataError, match=f"landmark file '{landmarks}' line 5 reads '1.0e\\+02', not two numbers 'x y'"):
        read_dataset("ckplus", tmp_path, CLASSES_7)
    landmarks.write_text("\n".join(lines[:60]))
    with pytest.raises(DataError, match="has 60 points instead of 68"):
        read_dataset("ckplus", tmp_path, CLASSES_7)
    shutil.rmtree(tmp_path / "Emotion")
    with pytest.raises(DataError, match=f"CK\\+ folder '{tmp_path / 'Emotion'}' does not exist: unpack Emotion_labels.zip"):
        read_dataset("ckplus", tmp_path, CLASSES_7)


def test_check_ibug_order_passes_true_points_and_fails_permuted_ones():
    faces = synthetic_layout_faces(CLASSES_7 * 3, size=64, num_subjects=7)
    assert [check_ibug_order(face.landmarks) for face in faces] == [None] * len(faces)
    points = faces[0].landmarks
    mirrored = points.copy()
    mirrored[:, 0] = 63 - mirrored[:, 0]  # same indices, subject's left and right swapped
    eyes_and_mouth = points.copy()
    eyes_and_mouth[36:48], eyes_and_mouth[48:60] = points[48:60], points[36:48]
    shuffled = points[np.random.default_rng(0).permutation(68)]
    wrong = {
        "reversed": points[::-1],
        "off by one": np.roll(points, 1, axis=0),
        "(y, x)": points[:, ::-1],
        "mirrored": mirrored,
        "eyes and mouth swapped": eyes_and_mouth,
        "shuffled": shuffled,
        "upside down": points * [1, -1],
    }
    reasons = {name: check_ibug_order(bad) for name, bad in wrong.items()}
    assert all(reasons.values()), reasons
    assert check_ibug_order(points[:67]) == "not 68 finite (x, y) points (shape (67, 2))"
    assert "right eye (36-41) not image-left" in reasons["mirrored"]
