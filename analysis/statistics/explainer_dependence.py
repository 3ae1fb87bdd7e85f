"""How much a conclusion owes to the saliency method chosen (compute only).

- ``kendalls_w``: agreement of the methods on the network ranking (raters = methods, items =
  networks, each network scored by its mean cell score): Kendall's W with the tie
  correction, and its test, chi2 = m (n - 1) W on n - 1 degrees of freedom (Friedman's
  statistic, which ``scipy.stats.friedmanchisquare`` computes the same way).
- ``variance_components``: the cell scores (method x network x expression, one score per
  cell) as a fully crossed three-way random-effects ANOVA without replication: the mean
  squares of the main effects and two-way interactions, their expected values solved for
  the variance components (method, network, expression, method x network, method x
  expression, network x expression, and the residual, which holds the three-way
  interaction), negative estimates set to 0, each component's share of their sum (an
  ICC-style share: the share of a score's variance that goes with that factor).
- ``region_fidelity``: per method, how well its heatmaps' mass per face region follows the
  regions' importance by intervention (``analysis.statistics.region_importance``): per image,
  Spearman's correlation across regions between the share of the map's positive mass inside
  each region (on the template grid of the evidence) and the region's excess drop; the mean
  over images with a percentile bootstrap interval over the images.
- ``ranking_flips``: per method, the network ranked first, so the report can name
  conclusions that hold across methods and those that flip.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import chi2, rankdata, spearmanr

AGREEMENT_COLUMNS = ["mask_family", "metric", "methods", "networks", "kendalls_w", "chi2", "df", "p_value"]
VARIANCE_COLUMNS = ["mask_family", "metric", "component", "variance", "share"]
FIDELITY_COLUMNS = ["method", "images", "fidelity", "low", "high"]
FACTORS = ("method", "network", "expression")


@dataclass(frozen=True)
class Agreement:
    """Kendall's W of m raters on n items, Friedman's chi2, its degrees of freedom and p."""

    w: float
    chi2: float
    df: int
    p_value: float


def kendalls_w(scores: np.ndarray) -> Agreement:
    """``scores`` [m raters, n items] (higher = ranked higher; ties get average ranks) ->
    Kendall's coefficient of concordance with the tie correction and its chi2 test."""
    m, n = scores.shape
    ranks = np.stack([rankdata(row) for row in scores])
    spread = ranks.sum(axis=0) - m * (n + 1) / 2
    ties = sum(float(np.sum(counts**3 - counts)) for counts in (np.unique(row, return_counts=True)[1] for row in ranks))
    denominator = m**2 * (n**3 - n) - m * ties
    w = float(12 * np.sum(spread**2) / denominator) if denominator > 0 else float("nan")
    statistic = m * (n - 1) * w
    return Agreement(w, statistic, n - 1, float(chi2.sf(statistic, n - 1)))


def variance_components(cells: pd.DataFrame) -> pd.DataFrame:
    """``cells`` with ``FACTORS`` columns and ``score``, one row per (method, network,
    expression), fully crossed -> ``component``, ``variance``, ``share`` (module docstring)."""
    table = cells.pivot_table(index=list(FACTORS), values="score").score
    levels = [table.index.levels[i] for i in range(3)]
    cube = table.reindex(pd.MultiIndex.from_product(levels, names=list(FACTORS))).to_numpy().reshape([len(level) for level in levels])
    if np.isnan(cube).any():
        raise ValueError("the variance decomposition needs every method x network x expression cell scored")
    a, b, c = cube.shape
    grand = cube.mean()
    means = {axes: cube.mean(axis=axes, keepdims=True) for axes in ((1, 2), (0, 2), (0, 1), (2,), (1,), (0,))}
    m_a, m_b, m_c = means[(1, 2)], means[(0, 2)], means[(0, 1)]
    m_ab, m_ac, m_bc = means[(2,)], means[(1,)], means[(0,)]
    squares = {
        "method": b * c * np.sum((m_a - grand) ** 2),
        "network": a * c * np.sum((m_b - grand) ** 2),
        "expression": a * b * np.sum((m_c - grand) ** 2),
        "method x network": c * np.sum((m_ab - m_a - m_b + grand) ** 2),
        "method x expression": b * np.sum((m_ac - m_a - m_c + grand) ** 2),
        "network x expression": a * np.sum((m_bc - m_b - m_c + grand) ** 2),
        "residual": np.sum((cube - m_ab - m_ac - m_bc + m_a + m_b + m_c - grand) ** 2),
    }
    df = {
        "method": a - 1, "network": b - 1, "expression": c - 1, "method x network": (a - 1) * (b - 1),
        "method x expression": (a - 1) * (c - 1), "network x expression": (b - 1) * (c - 1), "residual": (a - 1) * (b - 1) * (c - 1),
    }  # fmt: skip
    ms = {name: squares[name] / df[name] if df[name] else np.nan for name in squares}
    residual = ms["residual"]
    estimates = {
        "method x network": (ms["method x network"] - residual) / c,
        "method x expression": (ms["method x expression"] - residual) / b,
        "network x expression": (ms["network x expression"] - residual) / a,
        "method": (ms["method"] - ms["method x network"] - ms["method x expression"] + residual) / (b * c),
        "network": (ms["network"] - ms["method x network"] - ms["network x expression"] + residual) / (a * c),
        "expression": (ms["expression"] - ms["method x expression"] - ms["network x expression"] + residual) / (a * b),
        "residual": residual,
    }
    variances = {name: max(0.0, float(value)) if np.isfinite(value) else 0.0 for name, value in estimates.items()}
    total = sum(variances.values())
    order = ["method", "network", "expression", "method x network", "method x expression", "network x expression", "residual"]
    return pd.DataFrame(
        [(name, variances[name], variances[name] / total if total > 0 else np.nan) for name in order], columns=["component", "variance", "share"]
    )


def region_mass(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``maps`` [N, H, W] (any sign), ``masks`` [R, H, W] bool on the same grid -> [N, R] the
    share of each map's positive mass inside each region (NaN for a map with no positive mass)."""
    positive = np.clip(maps.astype(np.float64), 0, None)
    totals = positive.sum(axis=(1, 2))
    inside = np.einsum("nhw,rhw->nr", positive, masks.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals[:, None] > 0, inside / totals[:, None], np.nan)


def image_fidelity(mass: np.ndarray, importance: np.ndarray) -> np.ndarray:
    """[N]: per image, Spearman's correlation across regions of ``mass`` [N, R] and
    ``importance`` [N, R] (regions NaN in either left out; NaN with fewer than 3 regions or a
    constant row)."""
    result = np.full(len(mass), np.nan)
    for i, (x, y) in enumerate(zip(mass, importance, strict=True)):
        keep = np.isfinite(x) & np.isfinite(y)
        if keep.sum() >= 3 and np.ptp(x[keep]) > 0 and np.ptp(y[keep]) > 0:
            result[i] = spearmanr(x[keep], y[keep]).statistic
    return result


def region_fidelity(per_method: dict[str, np.ndarray], resamples: int, confidence: float, seed: int) -> pd.DataFrame:
    """``per_method``: {method: [N] per-image fidelity (``image_fidelity``)} -> ``FIDELITY_COLUMNS``:
    the mean over the images with a percentile bootstrap interval (images drawn with replacement)."""
    rng = np.random.default_rng(seed)
    rows = []
    for method, values in per_method.items():
        values = values[np.isfinite(values)]
        if len(values) < 2:
            rows.append((method, len(values), float(np.mean(values)) if len(values) else np.nan, np.nan, np.nan))
            continue
        draws = values[rng.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
        tail = (1 - confidence) / 2
        rows.append((method, len(values), float(values.mean()), float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))))
    return pd.DataFrame(rows, columns=FIDELITY_COLUMNS)


def network_agreement(scores: pd.DataFrame, family: str, metric: str) -> tuple[list, pd.DataFrame]:
    """``AGREEMENT_COLUMNS`` row (as a list) of Kendall's W of the methods on the networks'
    mean ``metric`` score for ``family``, and the [methods x networks] mean table behind it."""
    rows = scores[(scores.mask_family == family) & (scores.metric == metric)]
    table = rows.pivot_table(index="method", columns="network", values="value", aggfunc="mean").dropna(axis=1)
    if table.shape[0] < 2 or table.shape[1] < 2:
        return [family, metric, table.shape[0], table.shape[1], np.nan, np.nan, max(table.shape[1] - 1, 0), np.nan], table
    agreement = kendalls_w(table.to_numpy())
    return [family, metric, table.shape[0], table.shape[1], agreement.w, agreement.chi2, agreement.df, agreement.p_value], table


def ranking_flips(table: pd.DataFrame) -> pd.DataFrame:
    """For every pair of networks: the share of methods ranking the first above the second
    (1 or 0: the conclusion holds across methods; in between: it flips with the method)."""
    rows = []
    for first, second in combinations(table.columns, 2):
        above = float(np.mean(table[first] > table[second]))
        rows.append((first, second, above, "holds" if above in (0.0, 1.0) else "flips"))
    return pd.DataFrame(rows, columns=["network", "other", "share_of_methods_above", "verdict"])
