"""From replicates to the tables' intervals: cells, network means, the grand mean and
network differences, each centred on the full-resolution number the tables print.

The replicates are scored on the 55 x 56 evidence grid; the tables' numbers at full
template resolution. Each interval is moved by ``offset`` = full - evidence-grid estimate
(measured on all units; the pointing game's 0/1 hits are not moved) and then kept inside the
metric's range (``METRIC_RANGES``; a difference inside +- its width). Where several folds
exist, network means, differences and the grand mean get the fold-level t-interval
(``folds.py``) instead, centred on the same pooled number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ferlens.analysis.statistics.intervals import bootstrap_intervals, bootstrap_p, t_interval
from ferlens.analysis.statistics.replicates import ReplicateOutcome, ReplicateStatistic, RowKey
from ferlens.evaluation.localisation.scores import METRIC_RANGES

#: metrics whose values are 0 or 1: their interval is the evidence grid's own, never moved
BINARY_VALUED = ("pointing_game",)
#: row kinds that are differences of two scores (their range is +- the metric's width)
DIFFERENCE_ROWS = ("align", "net_align", "grand_align", "diff", "diff_align")


def full_values(
    statistic: ReplicateStatistic, cell_scores: dict[tuple[int, int, str, str], float], priors: dict[tuple[int, int, str, str], float]
) -> np.ndarray:
    """float [rows]: every row of ``statistic`` at full resolution, from the cells' scores and
    their face priors ({(network, class, family, metric): value})."""
    index = statistic.rows
    full = np.full(len(statistic.keys), np.nan)
    for key, row in index.items():
        address = (key.network, key.cls, key.family, key.metric)
        if key.kind == "cell":
            full[row] = cell_scores.get(address, np.nan)
        elif key.kind == "prior":
            full[row] = priors.get(address, np.nan)
        elif key.kind == "align":
            full[row] = cell_scores.get(address, np.nan) - priors.get(address, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        statistic.fill_means(full[:, None])
    return full


def row_intervals(statistic: ReplicateStatistic, outcome: ReplicateOutcome, full: np.ndarray, confidence: float, method: str) -> pd.DataFrame:
    """Per row of the statistic: ``value`` (full resolution), ``ci_low``, ``ci_high``,
    ``offset``, ``bias`` (mean replicate - estimate), ``p_value`` (bootstrap, of 0), ``units``
    and ``bias_dominated`` (no interval: the estimate lies outside its replicates' central mass)."""
    rows = len(statistic.keys)
    distribution, estimate = outcome.distribution[:rows], outcome.estimate[:rows]
    units = np.array([statistic.units_behind(key) for key in statistic.keys], np.float64)
    jackknife = outcome.jackknife[:rows] if outcome.jackknife is not None else None
    intervals = bootstrap_intervals(distribution, estimate, units, confidence, method, jackknife)
    binary = np.array([key.metric in BINARY_VALUED and key.kind == "cell" for key in statistic.keys])
    offset = np.where(binary & np.isfinite(full), 0.0, full - estimate)
    low, high = intervals.low + offset, intervals.high + offset
    bounds = np.array([_bounds(key) for key in statistic.keys])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        bias = np.nanmean(distribution, axis=1) - estimate if distribution.shape[1] else np.full(rows, np.nan)
    return pd.DataFrame(
        {
            "key": statistic.keys,
            "value": full,
            "ci_low": np.clip(low, bounds[:, 0], bounds[:, 1]),
            "ci_high": np.clip(high, bounds[:, 0], bounds[:, 1]),
            "offset": offset,
            "bias": bias,
            "p_value": bootstrap_p(distribution),
            "units": units,
            "bias_dominated": intervals.dominated,
        }
    )


def _bounds(key: RowKey) -> tuple[float, float]:
    low, high = METRIC_RANGES[key.metric]
    return (low - high, high - low) if key.kind in DIFFERENCE_ROWS else (low, high)


def first_shares(statistic: ReplicateStatistic, outcome: ReplicateOutcome, family: str, metric: str) -> dict[int, float]:
    """{network: share of replicates in which its mean ranks first} (paired replicates)."""
    networks = list(statistic.classes_of)
    rows = [statistic.rows[RowKey("net", n, None, family, metric)] for n in networks]
    values = np.nan_to_num(outcome.distribution[rows], nan=-np.inf)  # [N, R]
    if values.shape[1] == 0:
        return {}
    best = np.argmax(values, axis=0)
    return {n: float(np.mean(best == i)) for i, n in enumerate(networks)}


def fold_first_shares(values: pd.DataFrame, resamples: int, seed: int) -> dict[str, float]:
    """{network: share of fold resamples in which its mean over the drawn folds ranks first},
    over the folds every network has (``values``: network x fold)."""
    common = values.dropna(axis=1)
    if common.shape[1] < 2:
        return {}
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, common.shape[1], (resamples, common.shape[1]))
    means = common.to_numpy(np.float64)[:, drawn].mean(axis=2)  # [N, R]
    best = np.argmax(means, axis=0)
    return {network: float(np.mean(best == i)) for i, network in enumerate(common.index)}


def over_expressions(values: np.ndarray, confidence: float) -> tuple[float, float, int]:
    """(low, high, expressions) of the t-interval of a mean over expressions (the expressions as
    the sample; NaN below two)."""
    finite = values[np.isfinite(values)]
    interval = t_interval(finite[None], confidence) if len(finite) else None
    if interval is None:
        return np.nan, np.nan, 0
    return float(interval.low[0]), float(interval.high[0]), len(finite)
