import numpy as np
import pytest
from skimage.filters import threshold_otsu

from ferlens.evaluation.localisation.scores import (
    METRICS,
    Threshold,
    binary_scores,
    localisation_scores,
    mass_accuracy,
    missing_scores,
    pointing_game,
    rank_accuracy,
    roc_auc,
    score_heatmap,
    soft_scores,
)
from ferlens.formats.heatmap_artifact import stretch
from ferlens.user_errors import UserError


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


def test_mass_accuracy_counts_the_positive_mass_inside():
    heatmap = np.array([[4.0, -2.0, 0.0], [1.0, 3.0, 0.0]])
    mask = np.array([[True, True, False], [False, False, True]])
    assert mass_accuracy(heatmap, mask) == pytest.approx(4 / 8)  # positive mass 4 + 1 + 3, the -2 inside counts 0
    assert mass_accuracy(heatmap * 10 + 0, mask) == pytest.approx(0.5)  # scale-free
    assert mass_accuracy(-np.abs(heatmap), mask) == 0.0  # no positive mass: none inside


def test_rank_accuracy_shares_tied_slots():
    mask = np.array([[True, False, False], [False, True, True]])  # K = 3
    assert rank_accuracy(np.array([[5.0, 4, 3], [2, 1, 0]]), mask) == pytest.approx(1 / 3)  # top 3 = 5, 4, 3: only the 5 inside
    tied_mask = np.array([[False, True, False], [False, True, True]])
    # the 5 (outside) takes one slot; three 3s, one inside, share the other two: 2 x 1/3 hits
    assert rank_accuracy(np.array([[5.0, 3, 3], [3, 1, 0]]), tied_mask) == pytest.approx((2 / 3) / 3)
    assert rank_accuracy(np.full((2, 3), 0.7), mask) == pytest.approx(3 / 6)  # constant map: chance level K / pixels
    assert np.isnan(rank_accuracy(np.ones((2, 3)), np.zeros((2, 3), bool)))


def test_pointing_game_needs_every_maximum_inside():
    heatmap = np.array([[0.0, 1.0], [0.2, 0.0]])
    assert pointing_game(heatmap, np.array([[False, True], [False, False]])) == 1.0
    assert pointing_game(heatmap, np.array([[True, False], [True, True]])) == 0.0
    ties = np.array([[2.0, 0.0], [0.0, 2.0]])
    assert pointing_game(ties, np.array([[True, False], [False, False]])) == 0.0  # one tied maximum outside
    assert pointing_game(ties, np.array([[True, False], [False, True]])) == 1.0
    assert pointing_game(np.zeros((2, 2)), np.array([[True, True], [True, False]])) == 0.0  # a constant map has no peak
    assert pointing_game(np.zeros((2, 2)), np.ones((2, 2), bool)) == 1.0


def test_roc_auc_by_hand_and_equal_to_sklearn():
    from sklearn.metrics import roc_auc_score

    assert roc_auc(np.array([[3.0, 1.0], [2.0, 0.0]]), np.array([[True, False], [False, True]])) == pytest.approx(2 / 4)
    # one positive (1) against 1, 0, 0: a tie counts one half
    assert roc_auc(np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([[True, False], [False, False]])) == pytest.approx(2.5 / 3)
    assert roc_auc(np.full((3, 3), 4.0), np.eye(3, dtype=bool)) == 0.5
    assert np.isnan(roc_auc(np.ones((3, 3)), np.zeros((3, 3), bool))) and np.isnan(roc_auc(np.ones((3, 3)), np.ones((3, 3), bool)))
    rng = np.random.default_rng(3)
    for seed in range(5):
        mask = rng.random((40, 30)) < 0.1 + 0.15 * seed
        for heatmap in (rng.integers(0, 6, (40, 30)).astype(np.uint8), rng.random((40, 30)).astype(np.float32) + mask * 0.3):  # many ties; floats
            assert roc_auc(heatmap, mask) == pytest.approx(roc_auc_score(mask.ravel(), heatmap.ravel()), abs=1e-12)


def test_localisation_reads_the_float_map_and_missing_is_nan():
    heatmap = np.array([[3.0, 1.0], [-1.0, -1.0]])
    mask = np.array([[False, True], [True, True]])
    gray = stretch(heatmap)  # [[255, 128], [0, 0]]: stretching moves the mass
    scores = score_heatmap(gray, mask, Threshold(), heatmap)
    assert scores["mass_accuracy"] == pytest.approx(1 / 4)  # positive mass 3 + 1, the 1 inside
    assert localisation_scores(gray, mask)["mass_accuracy"] == pytest.approx(128 / 383)
    assert scores["pointing_game"] == 0.0 and scores["roc_auc"] == 0.0 and scores["rank_accuracy"] == pytest.approx(2 / 3)  # the 3 outside tops all
    assert score_heatmap(gray, mask, Threshold()) == {**scores, **localisation_scores(gray, mask)}  # without a float map: the gray one
    assert list(scores) == list(METRICS)
    assert set(missing_scores()) == set(METRICS) and all(np.isnan(value) for value in missing_scores().values())


def test_batched_engine_equals_the_one_map_scores_and_skimages_otsu():
    from ferlens.evaluation.localisation.scores import gray_levels, level_histograms, otsu_levels, score_maps

    rng = np.random.default_rng(11)
    masks = rng.random((4, 30, 20)) < np.array([0.1, 0.3, 0.5, 0.9])[:, None, None]
    heatmaps = np.stack([rng.random((30, 20)) ** power for power in (1, 3, 8)]).astype(np.float32)
    heatmaps[1, :5] = 0  # ties at the minimum
    grays = gray_levels(heatmaps.reshape(3, -1))
    assert all((grays[i] == stretch(heatmaps[i]).ravel()).all() for i in range(3))
    narrow = rng.integers(100, 110, (5, 600)).astype(np.uint8)  # few levels, far from 0 and 255
    assert otsu_levels(level_histograms(narrow)).tolist() == [threshold_otsu(image) for image in narrow]
    for threshold in (Threshold(), Threshold("topk", 15), Threshold("fixed", 90)):
        batched = score_maps(grays, heatmaps.reshape(3, -1), masks.reshape(4, -1), threshold)
        for i in range(3):
            for m in range(4):
                single = score_heatmap(grays[i].reshape(30, 20), masks[m], threshold, heatmaps[i])
                assert {k: v[i, m] for k, v in batched.items()} == pytest.approx(single, abs=1e-12)
    coarse = score_maps(grays, heatmaps.reshape(3, -1), masks.reshape(4, -1), Threshold(), ranks="gray")  # the bootstrap's fast path
    exact = score_maps(grays, heatmaps.reshape(3, -1), masks.reshape(4, -1), Threshold())
    for metric in METRICS:
        tolerance = 0.02 if metric in ("rank_accuracy", "roc_auc") else 1e-6  # only the rank metrics see the gray levels
        np.testing.assert_allclose(coarse[metric], exact[metric], atol=tolerance, err_msg=metric)
    on_gray = score_maps(grays, grays, masks.reshape(4, -1), Threshold(), ranks="gray")
    exact_gray = score_maps(grays, grays, masks.reshape(4, -1), Threshold())
    for metric in METRICS:  # maps that are gray images already: the gray ranks are their own
        np.testing.assert_allclose(on_gray[metric], exact_gray[metric], atol=1e-6, err_msg=metric)
