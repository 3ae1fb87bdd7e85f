"""Split-half reliability of each global heatmap: would it look the same with other images?

For one class heatmap, the resampling units (subjects, or images) are split at random into
two halves; the Pearson r between the two half-means (on the evidence grid) is averaged over
many splits, and the Spearman-Brown correction 2r / (1 + r) turns it into the reliability of
the mean of all the images (Spearman 1910, Brown 1910). A map below 0.8 would look noticeably
different with another sample of faces.

Whole maps share the face structure every class has (eyes, mouth, the network's favourite
places), which makes their halves agree whatever the expression. ``specific_split_halves``
therefore also measures the class-specific pattern: the class map minus the network's face
prior, the prior being the mean over the *other* classes of their class mean maps, each
class weighted equally (leave-one-class-out, so the class is not compared with itself and
frequent classes do not dominate). Each halving splits the network's units once and applies
the same halves to every class, so a subject's face, which it brings to every class, cancels
between the class map and the prior of the same half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferlens.analysis.statistics.design import Cell


@dataclass(frozen=True)
class SplitHalfResult:
    """``r``: the mean split-half Pearson r over the halvings; ``reliability``: its
    Spearman-Brown correction, the reliability of the map of all the images; ``units``: the
    resampling units (subjects or images) of the map. Both NaN where undefined."""

    r: float
    reliability: float
    units: int


def spearman_brown(r: float | np.ndarray) -> float | np.ndarray:
    """The reliability of a mean of two halves whose correlation is ``r``: 2r / (1 + r)."""
    return 2 * r / (1 + r)


def _halvings(n_units: int, splits: int, rng: np.random.Generator) -> np.ndarray:
    """bool [splits, n_units]: whether each unit is in the first half (floor(U/2) units) of each random halving."""
    return np.argsort(rng.random((splits, n_units)), axis=1) < n_units // 2


def _half_means(cell: Cell, halves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per halving, the mean maps of the cell's images in the first and in the second half
    (float32 [splits, P] each, NaN where a half holds none of its images) and whether both
    halves hold some (bool [splits])."""
    first = halves[:, cell.units].astype(np.float32)  # [splits, n]
    counts_a, counts_b = first.sum(axis=1), (1 - first).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (first @ cell.values) / counts_a[:, None]
        b = ((1 - first) @ cell.values) / counts_b[:, None]
    return a, b, (counts_a > 0) & (counts_b > 0)


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float64 [splits]: the Pearson r over pixels of each row of ``a`` and ``b`` ([splits, P]); NaN where a row is constant."""
    a = a.astype(np.float64) - a.mean(axis=1, keepdims=True)
    b = b.astype(np.float64) - b.mean(axis=1, keepdims=True)
    spread = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, np.sum(a * b, axis=1) / spread, np.nan)


def split_half(cell: Cell, splits: int, rng: np.random.Generator) -> SplitHalfResult:
    """The split-half reliability of one cell's whole mean map over ``splits`` random
    halvings of its units (halves of floor(U/2) and ceil(U/2) units); NaN with fewer than two
    units or when a half mean is constant."""
    if cell.n_units < 2:
        return SplitHalfResult(float("nan"), float("nan"), cell.n_units)
    a, b, _ = _half_means(cell, _halvings(cell.n_units, splits, rng))
    r = _pearson(a, b)
    if np.any(np.isnan(r)):
        return SplitHalfResult(float("nan"), float("nan"), cell.n_units)
    mean = float(np.mean(r))
    return SplitHalfResult(mean, float(spearman_brown(mean)), cell.n_units)


def specific_split_halves(cells: list[Cell], splits: int, rng: np.random.Generator) -> list[SplitHalfResult]:
    """The split-half reliability of each cell's class-specific map (one result per cell, in
    order): its class mean minus the leave-one-class-out face prior (the mean of the other
    cells' class means, each weighted equally), both from the same half of the units.

    ``cells`` are the classes of one network, their units numbered alike (one subject, one id
    in every class); the units are halved once per split for all of them, and each class's
    half means are made once. A class missing from one half of a split leaves that split's
    prior (in both halves); a split where the target or every other class misses a half, or a
    specific map is constant, is skipped. NaN with no other class, fewer than two target
    units, or no usable split."""
    if len({cell.network for cell in cells}) > 1 or len({cell.cls for cell in cells}) < len(cells):
        raise ValueError("specific_split_halves: the cells must be the distinct classes of one network")
    halves = _halvings(max(cell.n_units for cell in cells), splits, rng)
    means = [_half_means(cell, halves) for cell in cells]  # per cell: (first half, second half, both present)
    total_a = sum(np.where(present[:, None], a, 0) for a, _, present in means)
    total_b = sum(np.where(present[:, None], b, 0) for _, b, present in means)
    present_count = sum(present.astype(np.float32) for _, _, present in means)
    results = []
    for cell, (a, b, present) in zip(cells, means, strict=True):
        nan = SplitHalfResult(float("nan"), float("nan"), cell.n_units)
        if len(cells) < 2 or cell.n_units < 2:
            results.append(nan)
            continue
        own_a, own_b = np.where(present[:, None], a, 0), np.where(present[:, None], b, 0)
        classes = present_count - present  # [splits]: other classes present in both halves
        usable = present & (classes > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = _pearson(a - (total_a - own_a) / classes[:, None], b - (total_b - own_b) / classes[:, None])[usable]
        r = r[np.isfinite(r)]
        if not len(r):
            results.append(nan)
            continue
        mean = float(np.mean(r))
        results.append(SplitHalfResult(mean, float(spearman_brown(mean)), cell.n_units))
    return results
