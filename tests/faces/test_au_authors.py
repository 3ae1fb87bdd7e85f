"""``au.codebook=authors``: Study 2's code as it is, slips included; ours corrects them."""

import cv2
import numpy as np
import pytest

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.au import AU_CODEBOOK, AUTHORS_CODEBOOK, au_heatmap, au_regions
from ferlens.faces.au_authors import authors_au_map, authors_regions
from ferlens.user_errors import UserError


@pytest.fixture(scope="module")
def face():
    return SyntheticFaces(1, 1, 224, seed=3)[0]


def test_disgust_draws_au5_in_theirs_and_au10_in_ours():
    assert AUTHORS_CODEBOOK["Disgust"] == (9, 5, 16, 17, 25, 26) and AU_CODEBOOK["Disgust"] == (9, 10, 16, 17, 25, 26)
    assert {k: v for k, v in AUTHORS_CODEBOOK.items() if k != "Disgust"} == {k: v for k, v in AU_CODEBOOK.items() if k != "Disgust"}


def test_their_au10_and_au20_slips_and_our_midpoints(face):
    p = face.landmarks
    q = p.astype(np.int64)
    (left, _), (right, _) = authors_regions(10, p, 224, 224)
    assert left == (q[48, 0], q[50, 1]) and right == (q[52, 0], q[54, 1])  # (x48, y50), (x52, y54)
    (_, _), (second, _) = authors_regions(20, p, 224, 224)
    assert second == (int((q[50, 0] + q[10, 0]) / 2), int((q[50, 1] + q[10, 1]) / 2))  # 50 where 54 was meant
    ours10, ours20 = au_regions(10, p), au_regions(20, p)
    np.testing.assert_allclose([ours10[0].center, ours10[1].center], [(p[48] + p[50]) / 2, (p[52] + p[54]) / 2], atol=1e-5)
    np.testing.assert_allclose(ours20[1].center, (p[54] + p[10]) / 2, atol=1e-5)


def test_their_sizes_are_image_fractions_and_fixed_pixels(face):
    p = face.landmarks.astype(np.int64)
    assert authors_regions(1, face.landmarks, 224, 224) == [((p[20, 0], p[20, 1]), (28, 22)), ((p[23, 0], p[23, 1]), (28, 22))]  # w/8, h/10
    assert authors_regions(12, face.landmarks, 224, 224)[0] == ((p[48, 0], p[48, 1]), (20, 20))
    assert authors_regions(25, face.landmarks, 224, 224)[1] == ((p[57, 0], p[57, 1]), (25, 10))
    eye = authors_regions(7, face.landmarks, 224, 224)[0]
    assert eye == ((int((p[36, 0] + p[39, 0]) / 2), int((p[38, 1] + p[41, 1]) / 2)), (int((p[39, 0] - p[36, 0]) / 2), int((p[41, 1] - p[38, 1] + 20) / 2)))


def test_one_au_map_is_drawn_shrunk_to_28_blurred_and_resized_back(face):
    p = face.landmarks.astype(np.int64)
    drawn = np.zeros((224, 224), np.float32)
    for centre in (p[48], p[54]):
        cv2.ellipse(drawn, (int(centre[0]), int(centre[1])), (20, 20), 0, 0, 360, 1.0, -1)
    expected = cv2.resize(cv2.blur(cv2.resize(drawn, (28, 28)), (3, 3)), (224, 224))
    np.testing.assert_allclose(authors_au_map(12, face.landmarks, 224, 224), expected, atol=1e-6)
    assert authors_au_map(12, face.landmarks + 1000, 224, 224) is None  # wholly outside the image


def test_authors_heatmap_is_the_normalised_max_of_its_au_maps_and_invalid_when_nothing_is_inside(face):
    heatmap, valid = au_heatmap("Happiness", face.landmarks, 224, 224, codebook="authors")
    combined = np.max([authors_au_map(au, face.landmarks, 224, 224) for au in (6, 12, 25)], axis=0)
    np.testing.assert_allclose(heatmap, (combined - combined.min()) / (combined.max() - combined.min()), atol=1e-6)
    assert valid and heatmap.max() == pytest.approx(1.0)
    disgust_theirs, _ = au_heatmap("Disgust", face.landmarks, 224, 224, codebook="authors")
    disgust_ours, _ = au_heatmap("Disgust", face.landmarks, 224, 224)
    x, y = face.landmarks[36:42].mean(axis=0).astype(int)  # the right eye's centre
    assert disgust_theirs[y, x] > 0.2 and disgust_ours[y, x] < 0.02, (disgust_theirs[y, x], disgust_ours[y, x])  # their AU5 lights the eyes
    assert not au_heatmap("Anger", face.landmarks + 5000, 224, 224, codebook="authors")[1]
    assert not au_heatmap("Anger", face.landmarks + 5000, 224, 224)[1]
    with pytest.raises(UserError, match="Unknown AU codebook 'paper'"):
        au_heatmap("Anger", face.landmarks, 224, 224, codebook="paper")
