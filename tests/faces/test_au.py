import cv2
import numpy as np
import pytest

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.au import AU_CODEBOOK, au_heatmap, au_region_mask, au_regions, au_template_mask

EXPRESSIONS = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]


def test_codebook_is_studys_with_au10_for_disgust():
    assert AU_CODEBOOK["Disgust"] == (9, 10, 16, 17, 25, 26) and 5 not in AU_CODEBOOK["Disgust"]
    assert AU_CODEBOOK["Happiness"] == (6, 12, 25) and AU_CODEBOOK["Neutral"] == ()


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_heatmap_mass_lies_in_the_expressions_au_regions(expression):
    face = SyntheticFaces(1, 1, 224, seed=2)[0]
    heatmap, valid = au_heatmap(expression, face.landmarks, 224, 224)
    assert valid and heatmap.dtype == np.float32 and heatmap.min() == 0 and heatmap.max() == pytest.approx(1)
    regions = np.zeros((224, 224), bool)
    for au in AU_CODEBOOK[expression]:
        regions |= au_region_mask(au, face.landmarks, 224, 224)
    near = cv2.dilate(regions.astype(np.uint8), np.ones((33, 33), np.uint8)) > 0  # the smoothing's reach: 2 grid cells
    assert heatmap[near].sum() / heatmap.sum() >= 0.97
    assert near.mean() < 0.6  # and that is a part of the image, not all of it


def test_neutral_and_missing_landmarks_are_invalid():
    face = SyntheticFaces(1, 1, 64)[0]
    heatmap, valid = au_heatmap("Neutral", face.landmarks, 64, 64)
    assert not valid and heatmap.max() == 0
    assert not au_heatmap("Anger", np.full((68, 2), np.nan), 64, 64)[1]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_heatmap_is_scale_invariant(expression):
    small, large = SyntheticFaces(1, 1, 112, seed=5)[0], SyntheticFaces(1, 1, 224, seed=5)[0]
    map_small, _ = au_heatmap(expression, small.landmarks, 112, 112)
    map_large, _ = au_heatmap(expression, large.landmarks, 224, 224)
    resized = cv2.resize(map_large, (112, 112), interpolation=cv2.INTER_AREA)
    assert np.abs(resized - map_small).mean() < 0.02 and np.corrcoef(resized.ravel(), map_small.ravel())[0, 1] > 0.98


def test_regions_scale_with_the_face_not_with_pixels():
    face = SyntheticFaces(1, 1, 200, seed=1)[0]
    small = au_regions(12, face.landmarks)[0]
    large = au_regions(12, face.landmarks * 2)[0]
    assert large.axes[0] == pytest.approx(2 * small.axes[0])
    with pytest.raises(KeyError, match="No region for AU3"):
        au_regions(3, face.landmarks)


def test_template_au_masks_are_a_second_mask_family():
    masks = {e: au_template_mask(e) for e in EXPRESSIONS}
    assert all(m.shape == (275, 224) and 0.05 < m.mean() < 0.4 for m in masks.values())
    assert not au_template_mask("Neutral").any()
    assert masks["Happiness"][:60].sum() == 0  # no forehead AU in happiness
    assert masks["Surprise"][:80].any()  # brow raisers
    assert au_template_mask("Anger", scale=2).shape == (550, 448)
