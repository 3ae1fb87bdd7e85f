import cv2
import numpy as np
import pytest

from ferlens.faces.ekman_masks import EKMAN_MASK_REGIONS, ekman_mask

EXPRESSIONS = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]
WHITE_FRACTIONS = {"Anger": 0.2496, "Disgust": 0.2345, "Fear": 0.3000, "Happiness": 0.2144, "Sadness": 0.3091, "Surprise": 0.2372}


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_each_mask_matches_the_studys_png(reference_dir, expression):
    study = cv2.imread(str(reference_dir / "gt" / f"{expression}_gt.png"), cv2.IMREAD_GRAYSCALE) > 127
    ours = ekman_mask(expression)
    assert ours.shape == (275, 224)
    assert (ours & study).sum() / (ours | study).sum() >= 0.97
    assert ours.mean() == pytest.approx(WHITE_FRACTIONS[expression], abs=0.002)


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_masks_render_at_any_template_scale(scale):
    for expression in EXPRESSIONS:
        scaled = ekman_mask(expression, scale)
        assert scaled.shape == (round(275 * scale), round(224 * scale))
        back = cv2.resize(scaled.astype(np.uint8), (224, 275), interpolation=cv2.INTER_NEAREST) > 0
        reference = ekman_mask(expression)
        assert (back & reference).sum() / (back | reference).sum() > 0.9


def test_masks_are_built_from_the_described_regions():
    assert "central_mouth_chin" in EKMAN_MASK_REGIONS["Anger"] and "mouth_and_jaw" in EKMAN_MASK_REGIONS["Surprise"]
    anger, fear = ekman_mask("Anger"), ekman_mask("Fear")
    assert anger[230:260, 100:120].mean() > 0.9 and fear[230:260, 100:120].mean() == 0  # fear: not the lips/chin
    with pytest.raises(KeyError, match="No Ekman mask for 'Contempt'"):
        ekman_mask("Contempt")
