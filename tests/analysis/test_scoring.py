import numpy as np
import pytest
from skimage.filters import threshold_otsu

from analysis.scoring import Threshold, binary_scores, score_heatmap, soft_scores
from user_errors import UserError


def test_binary_scores_count_pixels():
    mask = np.zeros((4, 5), bool)
    mask[:2] = True  # 10 pixels
    important = np.zeros((4, 5), bool)
    important[1:3] = True  # 10 pixels, 5 of them inside the mask
    scores = binary_scores(important, mask)
    assert scores["iou"] == pytest.approx(5 / 15)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(0.5)


def test_empty_prediction_scores_zero_not_nan():
    mask = np.ones((3, 3), bool)
    scores = binary_scores(np.zeros((3, 3), bool), mask)
    assert scores == {"iou": 0.0, "f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_thresholds():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (50, 40)).astype(np.uint8)
    assert Threshold().level(gray) == threshold_otsu(gray)
    assert Threshold("fixed", 100).level(gray) == 100
    top = gray > Threshold("topk", 10).level(gray)
    assert top.mean() == pytest.approx(0.10, abs=0.01)
    constant = np.full((5, 5), 7, np.uint8)
    assert not (constant > Threshold().level(constant)).any()
    assert str(Threshold("topk", 10)) == "topk(10)"


@pytest.mark.parametrize(("kind", "value", "needle"), [("median", None, "Unknown threshold"), ("fixed", 300, "between 0 and 255"), ("topk", None, "percent")])
def test_bad_threshold_is_one_sentence(kind, value, needle):
    with pytest.raises(UserError, match=needle):
        Threshold(kind, value)


def test_soft_scores_equal_numpy():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (30, 20)).astype(np.uint8)
    mask = rng.random((30, 20)) > 0.6
    scores = soft_scores(gray, mask)
    assert scores["ncc"] == pytest.approx(np.corrcoef(gray.ravel().astype(float), mask.ravel().astype(float))[0, 1])
    h, m = gray.ravel() / 255, mask.ravel().astype(float)
    assert scores["cosine"] == pytest.approx(h @ m / np.linalg.norm(h) / np.linalg.norm(m))
    assert soft_scores(np.zeros((3, 3), np.uint8), mask[:3, :3]) == {"ncc": 0.0, "cosine": 0.0}


def test_shape_mismatch_is_a_user_error():
    with pytest.raises(UserError, match="same template"):
        score_heatmap(np.zeros((5, 5), np.uint8), np.zeros((4, 4), bool), Threshold())
