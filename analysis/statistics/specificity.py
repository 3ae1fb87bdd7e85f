"""Does a heatmap match its own expression's mask better than the others'?

For every class heatmap of a set: its score against its own expression's mask, the mean and
the maximum over the other expressions' masks, and the rank of its own mask among all (1 =
best) on the double-centred score matrix (each score minus its row's and its mask's mean,
plus the grand mean), so that a mask that scores high with every map, such as a large
central one, does not win rows whatever the expression. A permutation test of the mask labels asks whether the matched masks score higher than
chance: the statistic is the mean over expressions of the score of heatmap e against mask
pi(e); under the null every assignment pi of masks to heatmaps is equally likely. Per network
the test is exact (all 720 assignments of 6 masks). Pooled over networks, one assignment is
applied to every network's matrix at once, also exact: the networks explain the same faces,
so their matrices are dependent, and permuting each network's labels independently
understated the null's spread (under the simulated global null of ``simulation.py`` the
pooled p fell below 0.05 in 20 % of 140 data sets). ``scipy.stats.permutation_test`` does both.
Which p-values are claims, and their adjustment, is ``multiplicity.py``'s.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import permutation_test, rankdata

from ferlens.analysis.aggregate import ScoreMatrices
from ferlens.analysis.heatmap_set import HeatmapSet
from ferlens.evaluation.localisation.scores import METRICS

SPECIFICITY_COLUMNS = ["network", "method", "mask_family", "metric", "expression", "matched", "mean_other", "max_other", "rank", "masks"]
PERMUTATION_COLUMNS = [
    "network", "method", "mask_family", "metric", "expressions", "statistic", "null_mean", "p_value", "permutations", "exact",
]  # fmt: skip
POOLED_NETWORKS = "all networks"


def specificity_rows(network: str, method: str, family_name: str, expressions: list[str], matrices: dict[str, np.ndarray]) -> list[tuple]:
    """``SPECIFICITY_COLUMNS`` rows of one set and family: per metric and expression the
    matched score, mean and max over the other masks, and the matched mask's rank on the
    ``double_centred`` matrix (1 = the best alone; ties get their average rank, so a heatmap
    scoring all masks equally is in the middle, never best)."""
    rows = []
    for metric, matrix in matrices.items():
        centred = double_centred(matrix)
        for i, expression in enumerate(expressions):
            others = np.delete(matrix[i], i)
            scores = np.nan_to_num(np.round(centred[i], 12), nan=-np.inf)  # float noise of the centring breaks no tie
            rank = float(rankdata(-scores, method="average")[i])
            mean_other = float(np.mean(others)) if len(others) else np.nan
            max_other = float(np.max(others)) if len(others) else np.nan
            rows.append((network, method, family_name, metric, expression, float(matrix[i, i]), mean_other, max_other, rank, len(expressions)))
    return rows


def double_centred(matrix: np.ndarray) -> np.ndarray:
    """[E, E] scores (heatmap i, mask j) minus their row mean and column mean, plus the grand
    mean (NaN left out of the means and kept NaN): what is left is the interaction, each
    heatmap's preference for a mask beyond that mask's pull on every heatmap."""
    with np.errstate(invalid="ignore"):
        rows, columns = np.nanmean(matrix, axis=1, keepdims=True), np.nanmean(matrix, axis=0, keepdims=True)
        return matrix - rows - columns + np.nanmean(matrix)


def _matched_mean(matrices: list[np.ndarray]):
    """The permutation statistic over one or several networks' [E, E] matrices: the mean over
    networks and expressions of matrix[e, pi(e)], one assignment pi for every network,
    vectorised over permutations (axis -1)."""
    stacked = np.stack(matrices)  # [N, E, E]
    rows = np.arange(stacked.shape[1])

    def statistic(assignment: np.ndarray, axis: int = -1) -> np.ndarray:
        return stacked[:, rows, assignment].mean(axis=-1).mean(axis=0)  # [N, (batch,) E] -> [(batch,)]

    return statistic


def permutation_p(matrices: list[np.ndarray], permutations: int, rng: np.random.Generator) -> tuple[float, float, float, int, bool]:
    """(statistic, mean of the null, p-value, permutations used, exact) of the mask-label
    test on the networks' score matrices (each [E, E], NaN-free), one-sided: matched masks score higher."""
    expressions = len(matrices[0])
    statistic = _matched_mean(matrices)
    result = permutation_test(
        (np.arange(expressions),), statistic, permutation_type="pairings", vectorized=True, n_resamples=permutations, alternative="greater", rng=rng
    )
    exact = math.factorial(expressions) <= permutations  # scipy then enumerates every assignment once
    return float(result.statistic), float(np.mean(result.null_distribution)), float(result.pvalue), len(result.null_distribution), bool(exact)


def specificity(pooled: list[HeatmapSet], matrices: ScoreMatrices, families: list[str], permutations: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(specificity table, permutation tests) of the pooled sets from their score
    ``matrices`` (``analysis.aggregate.ScoreMatrices``): ``SPECIFICITY_COLUMNS`` per (network,
    method, family, metric, expression); ``PERMUTATION_COLUMNS`` per network and pooled over
    the networks of each method (only expressions every network has, so that the pooled
    statistic permutes the same labels), for every metric of ``METRICS``."""
    rng = np.random.default_rng(seed)
    rows, tests = [], []
    for family_name in families:
        by_method: dict[str, list[tuple[str, list[str], dict[str, np.ndarray]]]] = {}
        for heatmap_set in pooled:
            expressions, scores = matrices[(*heatmap_set.key, family_name)]
            if len(expressions) < 2:
                continue
            rows += specificity_rows(heatmap_set.network, heatmap_set.method, family_name, expressions, scores)
            by_method.setdefault(heatmap_set.method, []).append((heatmap_set.network, expressions, scores))
        for method, networks in by_method.items():
            for metric in METRICS:
                for network, expressions, scores in networks:
                    matrix = scores[metric]
                    if np.isnan(matrix).any():
                        continue
                    tests.append((network, method, family_name, metric, len(expressions), *permutation_p([matrix], permutations, rng)))
                common = [e for e in networks[0][1] if all(e in names for _, names, _ in networks)]
                chosen = [m[metric][np.ix_(idx, idx)] for _, names, m in networks for idx in [[names.index(e) for e in common]]]
                if len(networks) > 1 and len(common) >= 2 and not any(np.isnan(matrix).any() for matrix in chosen):
                    tests.append((POOLED_NETWORKS, method, family_name, metric, len(common), *permutation_p(chosen, permutations, rng)))
    return pd.DataFrame(rows, columns=SPECIFICITY_COLUMNS), pd.DataFrame(tests, columns=PERMUTATION_COLUMNS)
