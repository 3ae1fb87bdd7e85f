import itertools

import numpy as np
import pytest

from ferlens.analysis.aggregate import score_sets
from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.analysis.statistics.specificity import POOLED_NETWORKS, double_centred, permutation_p, specificity, specificity_rows
from ferlens.evaluation.localisation.scores import Threshold
from tests.analysis.helpers import CLASSES, band_masks_and_maps


def _brute_force_p(matrices: list[np.ndarray]) -> float:
    """The share of all assignments, one for every network at once, whose matched mean is >= the observed one."""
    n = len(matrices[0])
    totals = np.array([np.mean([matrix[np.arange(n), list(p)].mean() for matrix in matrices]) for p in itertools.permutations(range(n))])
    observed = np.mean([np.trace(matrix) / n for matrix in matrices])
    return float(np.mean(totals >= observed - 1e-12))


def test_per_network_p_is_exact_over_all_720_assignments():
    rng = np.random.default_rng(0)
    matrix = rng.random((6, 6)) + np.eye(6) * 0.3
    statistic, null_mean, p, permutations, exact = permutation_p([matrix], 9999, rng)
    assert exact and permutations == 720 and p == pytest.approx(_brute_force_p([matrix]), abs=1e-12)
    assert statistic == pytest.approx(np.trace(matrix) / 6) and null_mean == pytest.approx(matrix.mean())
    best = permutation_p([np.eye(6)], 9999, rng)  # only the identity puts every heatmap on its mask
    assert best[2] == pytest.approx(1 / 720)
    assert permutation_p([np.ones((6, 6))], 9999, rng)[2] == 1.0  # nothing to tell the masks apart


def test_pooled_p_applies_one_assignment_to_every_network_exactly():
    rng = np.random.default_rng(1)
    matrices = [rng.random((6, 6)) + np.eye(6) * 0.15 for _ in range(2)]
    _, _, p, permutations, exact = permutation_p(matrices, 999, np.random.default_rng(2))
    assert exact and permutations == 720 and p == pytest.approx(_brute_force_p(matrices))


def test_networks_that_explain_the_same_faces_alike_pool_to_the_p_of_one():
    """Two networks whose score matrices are the same (dependent: the same faces, the same
    maps) carry no more evidence than one; permuting each network's labels independently
    would halve the null's variance and give a smaller, wrong p."""
    matrix = np.random.default_rng(3).random((6, 6)) + np.eye(6) * 0.1
    one = permutation_p([matrix], 999, np.random.default_rng(4))[2]
    assert permutation_p([matrix, matrix.copy()], 999, np.random.default_rng(5))[2] == pytest.approx(one)


def test_specificity_rows_compare_the_own_mask_with_the_others():
    matrix = np.array([[0.5, 0.2, 0.5], [0.1, 0.4, 0.9], [0.3, 0.3, 0.3]])
    rows = specificity_rows("net", "gradcam", "ekman", ["A", "B", "C"], {"iou": matrix})
    by = {row[4]: row for row in rows}
    assert by["A"][5:8] == (0.5, pytest.approx(0.35), 0.5) and by["A"][8] == 1  # mask C pulls every map (mean 0.57): A's tie with it is a win
    assert by["B"][5:9] == (0.4, pytest.approx(0.5), 0.9, 2)
    assert by["C"][8] == 3 and by["C"][9] == 3  # the same score against every mask: below the big mask's usual pull


def test_a_mask_that_scores_high_with_every_map_does_not_win_its_row():
    big = np.array([[0.5, 0.2, 0.8], [0.1, 0.4, 0.8], [0.3, 0.3, 0.8]])  # mask C (a large central one) scores 0.8 with every map
    ranks = {row[4]: row[8] for row in specificity_rows("net", "gradcam", "ekman", ["A", "B", "C"], {"iou": big})}
    assert ranks == {"A": 1, "B": 1, "C": 2}  # raw ranks would make C best in all three rows, C's own included
    np.testing.assert_allclose(double_centred(big).sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(double_centred(big).sum(axis=1), 0, atol=1e-12)


def test_heatmaps_that_are_their_own_masks_are_specific_and_shuffled_ones_are_not():
    masks, own = band_masks_and_maps()  # six disjoint bands, each class's map its own band
    sets = [
        HeatmapSet("own", "gradcam", POOLED, CLASSES, own, [10] * 6),
        HeatmapSet("shuffled", "gradcam", POOLED, CLASSES, own[[1, 2, 0, 4, 5, 3]], [10] * 6),
        HeatmapSet("partly", "gradcam", POOLED, CLASSES, own, [10, 0, 10, 10, 10, 10]),  # Disgust empty: five expressions
    ]
    _, matrices = score_sets(sets, {"bands": masks}, Threshold(), 1, progress=False)
    table, tests = specificity(sets, matrices, ["bands"], 999, 0)
    iou = table[table.metric == "iou"]
    assert (iou[iou.network == "own"]["rank"] == 1).all() and (iou[iou.network == "own"].matched == 1.0).all()
    assert (iou[iou.network == "shuffled"]["rank"] > 1).all() and len(iou[iou.network == "partly"]) == 5
    p = tests[tests.metric == "iou"].set_index("network")
    assert p.loc["own", "p_value"] == pytest.approx(1 / 720) and p.loc["shuffled", "p_value"] > 0.5
    assert p.loc["partly", "expressions"] == 5 and p.loc["partly", "permutations"] == 120
    assert p.loc[POOLED_NETWORKS, "expressions"] == 5  # the expressions every network has
