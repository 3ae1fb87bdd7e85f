"""From a replicate distribution (or a few fold values) to an interval and a p-value.

Every function is vectorised over rows: ``distribution`` float [rows, R] (NaN: a replicate
in which the statistic is undefined, left out), ``estimate`` [rows].

- ``percentile``: the alpha/2 and 1 - alpha/2 quantiles of the replicates (Efron 1979);
- ``expanded``: the percentile interval at the wider level
  alpha' / 2 = Phi(-t_{n-1, 1-alpha/2}) for n resampled units, which corrects the percentile
  interval's known narrowness in small samples (Hesterberg 2015, "What teachers should know
  about the bootstrap", The American Statistician 69(4)). Hesterberg's other factor,
  sqrt(n / (n - 1)), undoes the plain bootstrap's variance shrinkage; the design's rescaled
  draws (``ResamplingDesign.draw``, Rao & Wu 1988) already undo it, stratum by stratum;
- ``debiased`` (the default): the expanded interval moved by twice the bootstrap bias
  (mean replicate - estimate), so it sits around the bias-corrected estimate
  2 x estimate - mean replicate (Efron & Tibshirani 1993, section 10.6). Scores of a mean map
  that are not linear in it (NCC, IoU) are biased by the noise left in the mean, and a
  replicate, a mean of resampled faces, carries that noise once more: the percentile
  interval sits on the wrong side of the estimate, this one on the right side. For a score
  linear in the map (mass accuracy) the bias is ~0 and it is the expanded interval;
- ``basic``: 2 x estimate - the percentile quantiles;
- ``bca``: bias-corrected and accelerated (Efron 1987), the acceleration from a
  delete-one-unit jackknife;
- ``t_interval``: mean +- t_{K-1} x SD / sqrt(K) over K independent values (folds, expressions);
- ``bootstrap_p``: the two-sided p-value of "the statistic is 0" from its replicates.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import t as student_t

INTERVALS = ("debiased", "expanded", "percentile", "basic", "bca")


@dataclass(frozen=True)
class Intervals:
    """``low`` / ``high`` float [rows]; NaN where no interval can be given (fewer than two
    units, or ``dominated``: bool [rows], the resampling bias exceeds the spread)."""

    low: np.ndarray
    high: np.ndarray
    dominated: np.ndarray


def row_quantiles(distribution: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """float [rows]: the quantile ``probabilities[i]`` of row i's finite replicates (linear
    interpolation, as ``numpy.quantile``); NaN for a row without finite replicates or a NaN probability."""
    ordered = np.sort(np.where(np.isfinite(distribution), distribution, np.inf), axis=1)
    known = np.isfinite(probabilities)
    valid = np.where(known, np.isfinite(distribution).sum(axis=1), 0)
    position = np.clip(np.where(known, probabilities, 0.0), 0, 1) * np.maximum(valid - 1, 0)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(valid - 1, 0))
    rows = np.arange(len(distribution))
    lower, upper = ordered[rows, below], ordered[rows, above]
    with np.errstate(invalid="ignore"):
        value = lower + (position - below) * np.where(above > below, upper - lower, 0.0)
    return np.where(valid > 0, value, np.nan)


def expanded_alpha(alpha: float, units: np.ndarray) -> np.ndarray:
    """float [rows]: the expanded tail probability alpha' = 2 Phi(-t_{n-1, 1-alpha/2}) for
    ``units`` [rows] resampled units (NaN below two): the t quantile's width, read on the
    normal scale of the (rescaled) replicates."""
    n = np.asarray(units, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        widened = student_t.ppf(1 - alpha / 2, np.maximum(n - 1, 1))
    return np.where(n >= 2, 2 * ndtr(-widened), np.nan)


def bootstrap_intervals(
    distribution: np.ndarray, estimate: np.ndarray, units: np.ndarray, confidence: float, method: str, jackknife: np.ndarray | None = None
) -> Intervals:
    """Intervals of ``method`` (``INTERVALS``) from ``distribution`` [rows, R] around
    ``estimate`` [rows] resting on ``units`` [rows] resampled units (NaN below two);
    ``jackknife`` [rows, U] (the statistic with each unit left out in turn, NaN where a unit
    does not enter the row) is needed by ``bca``."""
    alpha = 1 - confidence
    rows = len(distribution)
    units = np.broadcast_to(np.asarray(units, np.float64), (rows,))
    if method in ("expanded", "debiased"):
        tail = expanded_alpha(alpha, units) / 2
        low, high = row_quantiles(distribution, tail), row_quantiles(distribution, 1 - tail)
        if method == "debiased":  # around the bias-corrected estimate 2 x estimate - mean replicate
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                shift = 2 * (np.nanmean(distribution, axis=1) - estimate)
            low, high = low - shift, high - shift
    elif method in ("percentile", "basic"):
        low, high = row_quantiles(distribution, np.full(rows, alpha / 2)), row_quantiles(distribution, np.full(rows, 1 - alpha / 2))
        if method == "basic":
            low, high = 2 * estimate - high, 2 * estimate - low
    elif method == "bca":
        if jackknife is None:
            raise ValueError("bca needs the jackknife values")
        with np.errstate(invalid="ignore", divide="ignore"):
            bias = ndtri(np.clip(share_below(distribution, estimate), 1e-10, 1 - 1e-10))
            centred = np.nanmean(jackknife, axis=1, keepdims=True) - jackknife
            acceleration = np.nansum(centred**3, axis=1) / (6 * np.nansum(centred**2, axis=1) ** 1.5)
            acceleration = np.where(np.isfinite(acceleration), acceleration, 0.0)
            z = ndtri(np.array([alpha / 2, 1 - alpha / 2]))[:, None]
            levels = ndtr(bias + (bias + z) / (1 - acceleration * (bias + z)))  # [2, rows]
        low, high = (
            row_quantiles(distribution, np.nan_to_num(levels[0], nan=alpha / 2)),
            row_quantiles(distribution, np.nan_to_num(levels[1], nan=1 - alpha / 2)),
        )
    else:
        raise ValueError(f"interval method {method!r}: use one of {INTERVALS}")
    enough = units >= 2
    dominated = bias_dominated(distribution, estimate, confidence)
    return Intervals(np.where(enough & ~dominated, low, np.nan), np.where(enough & ~dominated, high, np.nan), dominated & enough)


def bias_dominated(distribution: np.ndarray, estimate: np.ndarray, confidence: float) -> np.ndarray:
    """bool [rows]: the estimate lies outside the central ``confidence`` of its own finite
    replicates, so the statistic's resampling bias exceeds its spread; no bootstrap interval
    (percentile, basic or BCa, whose correction then extrapolates beyond the replicates) is
    trustworthy there, and none is given."""
    below = share_below(distribution, estimate)
    tail = (1 - confidence) / 2
    return np.isfinite(distribution).any(axis=1) & np.isfinite(estimate) & ((below < tail) | (below > 1 - tail))


def share_below(distribution: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """float [rows]: the share of each row's finite replicates below its estimate, ties counting half."""
    finite = np.isfinite(distribution)
    below = np.sum(finite & (distribution < estimate[:, None]), axis=1) + 0.5 * np.sum(finite & (distribution == estimate[:, None]), axis=1)
    return below / np.maximum(finite.sum(axis=1), 1)


@dataclass(frozen=True)
class TInterval:
    """``mean``, ``low``, ``high``, ``p_value`` (two-sided, of mean = 0) and ``count`` [rows]
    of a t-interval over independent values; NaN below two values."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    count: np.ndarray


def t_interval(values: np.ndarray, confidence: float, centre: np.ndarray | None = None) -> TInterval:
    """The t-interval of the mean of ``values`` [rows, K] (NaN left out), with K - 1 degrees of
    freedom; ``centre`` [rows] moves it to another estimate of the same quantity (e.g. the
    pooled score) with the same standard error."""
    values = np.atleast_2d(np.asarray(values, np.float64))
    count = np.isfinite(values).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(np.where(count[:, None] > 0, values, 0.0), axis=1)
        sd = np.sqrt(np.nansum((values - mean[:, None]) ** 2, axis=1) / (count - 1))
        error = sd / np.sqrt(count)
        quantile = student_t.ppf(1 - (1 - confidence) / 2, np.maximum(count - 1, 1))
        p = 2 * student_t.sf(np.abs(mean / error), np.maximum(count - 1, 1))
    middle = mean if centre is None else np.asarray(centre, np.float64)
    enough = count >= 2
    nan = np.full(len(values), np.nan)
    return TInterval(
        np.where(count > 0, mean, np.nan),
        np.where(enough, middle - quantile * error, nan),
        np.where(enough, middle + quantile * error, nan),
        np.where(enough & (error > 0), p, np.where(enough & (mean != 0), 0.0, np.where(enough, 1.0, nan))),
        count,
    )


def bootstrap_p(distribution: np.ndarray) -> np.ndarray:
    """float [rows]: the two-sided bootstrap p-value of "the statistic is 0": twice the
    smaller share of finite replicates on either side of 0 (each side counting the observed
    sample once, so p >= 2 / (R + 1)), at most 1."""
    finite = np.isfinite(distribution)
    count = finite.sum(axis=1)
    below = np.sum(finite & (distribution <= 0), axis=1)
    above = np.sum(finite & (distribution >= 0), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * (np.minimum(below, above) + 1) / (count + 1)
    return np.where(count > 0, np.minimum(p, 1.0), np.nan)
