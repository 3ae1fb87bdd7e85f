"""The training level: folds (each a model of its own, trained and tested on faces of its own).

Each fold's score is measured on its own test faces by its own model, so the spread of the
fold scores holds both the training variance and the faces' sampling variance. A t-interval
over K folds (K - 1 degrees of freedom) therefore covers what a claim about an
*architecture* needs, both levels at once; with K = 5 folds a bootstrap of the folds would
be a bootstrap of five values, which under-covers (``benchmarks/bench_coverage.py``).

- ``fold_scores``: every fold's class scores and leave-one-class-out face-prior scores;
- ``fold_spread``: per cell, the mean and SD (ddof = 1) over folds with its t-interval;
- ``fold_means``: per network, the mean over folds of its mean over expressions;
- ``fold_table``: per network, per fold, its mean score and alignment, for the network
  means, differences and grand mean of ``compute_statistics`` when several folds exist.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferlens.analysis.heatmap_set import POOLED
from ferlens.analysis.statistics.baselines import MaskBank, set_priors
from ferlens.analysis.statistics.intervals import t_interval
from ferlens.analysis.statistics.results import FOLD_COLUMNS, SPREAD_COLUMNS

FOLD_SCORE_COLUMNS = ["network", "method", "fold", "expression", "mask_family", "metric", "value", "prior"]


def fold_scores(analysis, method: str) -> pd.DataFrame:
    """``FOLD_SCORE_COLUMNS``: each fold set's class scores (the analysis' own) with the
    leave-one-class-out face prior of that fold's maps against the same mask."""
    scores = analysis.scores[(analysis.scores.method == method) & (analysis.scores.fold != POOLED)]
    if scores.empty:
        return pd.DataFrame(columns=FOLD_SCORE_COLUMNS)
    priors = []
    bank = MaskBank.of(analysis.families)
    for heatmap_set in analysis.sets:
        if heatmap_set.method != method or heatmap_set.fold == POOLED:
            continue
        for expression, prior_scores in set_priors(heatmap_set, bank, analysis.threshold, analysis.min_count).items():
            for (family, _), values in prior_scores.items():
                priors += [(heatmap_set.network, str(heatmap_set.fold), expression, family, metric, value) for metric, value in values.items()]
    prior = pd.DataFrame(priors, columns=["network", "fold", "expression", "mask_family", "metric", "prior"])
    merged = scores.merge(prior, on=["network", "fold", "expression", "mask_family", "metric"], how="left")
    return merged[FOLD_SCORE_COLUMNS]


def fold_table(scores: pd.DataFrame, family: str, metric: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(network x fold mean score over expressions, network x fold mean alignment), from ``fold_scores``."""
    chosen = scores[(scores.mask_family == family) & (scores.metric == metric) & scores.value.notna()]
    if chosen.empty:
        return pd.DataFrame(), pd.DataFrame()
    chosen = chosen.assign(alignment=chosen.value - chosen.prior)
    value = chosen.groupby(["network", "fold"], sort=False)["value"].mean().unstack("fold")
    alignment = chosen.groupby(["network", "fold"], sort=False)["alignment"].mean().unstack("fold")
    return value, alignment


def fold_means(scores: pd.DataFrame, method: str, families: list[str], metrics: tuple[str, ...], confidence: float) -> pd.DataFrame:
    """``FOLD_COLUMNS``: per network with two or more folds, the mean over folds of its mean
    score over expressions (the study's aggregation), with the t-interval over folds."""
    rows = []
    for family in families:
        for metric in metrics:
            value, _ = fold_table(scores, family, metric)
            for network, folds in value.iterrows():
                values = folds.to_numpy(np.float64)
                if np.isfinite(values).sum() < 2:
                    continue
                interval = t_interval(values[None], confidence)
                sd = float(np.nanstd(values, ddof=1))
                rows.append(
                    (network, method, family, metric, int(interval.count[0]), float(interval.mean[0]), sd, float(interval.low[0]), float(interval.high[0]))
                )
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


def fold_spread(scores: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """``SPREAD_COLUMNS``: per (network, method, family, metric, expression) with two or more
    scored folds, the mean, the SD over folds (ddof = 1) and the t-interval of the mean."""
    folds = scores[(scores.fold != POOLED) & scores.value.notna()]
    if folds.empty:
        return pd.DataFrame(columns=SPREAD_COLUMNS)
    grouped = folds.groupby(["network", "method", "mask_family", "metric", "expression"], sort=False)["value"]
    frame = pd.DataFrame({"folds": grouped.size(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)}).reset_index()
    values = [group.to_numpy(np.float64) for _, group in grouped]
    padded = np.full((len(values), max(map(len, values))), np.nan)
    for row, value in enumerate(values):
        padded[row, : len(value)] = value
    interval = t_interval(padded, confidence)
    frame["ci_low"], frame["ci_high"] = interval.low, interval.high
    return frame[frame.folds >= 2].reset_index(drop=True)[SPREAD_COLUMNS]
