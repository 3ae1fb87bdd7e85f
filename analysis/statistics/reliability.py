"""Split-half reliability of each global heatmap: would it look the same with other images?

For one class heatmap, the resampling units (subjects, or images) are split at random into
two halves; the Pearson r between the two half-means (on the evidence grid) is averaged over
many splits, and the Spearman-Brown correction 2r / (1 + r) turns it into the reliability of
the mean of all the images (Spearman 1910, Brown 1910). A map below 0.8 would look noticeably
different with another sample of faces.
"""

from __future__ import annotations

import numpy as np

from ferlens.analysis.statistics.design import Cell


def spearman_brown(r: float | np.ndarray) -> float | np.ndarray:
    """The reliability of a mean of two halves whose correlation is ``r``: 2r / (1 + r)."""
    return 2 * r / (1 + r)


def split_half(cell: Cell, splits: int, rng: np.random.Generator) -> tuple[float, float]:
    """(mean split-half Pearson r, its Spearman-Brown reliability) of one cell over
    ``splits`` random halvings of its units (halves of floor(U/2) and ceil(U/2) units);
    NaN with fewer than two units or when a half mean is constant."""
    if cell.n_units < 2:
        return float("nan"), float("nan")
    halves = np.argsort(rng.random((splits, cell.n_units)), axis=1) < cell.n_units // 2  # [splits, U]: unit in the first half
    first = halves[:, cell.units].astype(np.float32)  # [splits, n]
    sums_a, sums_b = first @ cell.values, (1 - first) @ cell.values
    a = sums_a / first.sum(axis=1, keepdims=True)
    b = sums_b / (1 - first).sum(axis=1, keepdims=True)
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    spread = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    if np.any(spread == 0):
        return float("nan"), float("nan")
    r = float(np.mean(np.sum(a.astype(np.float64) * b, axis=1) / spread))
    return r, float(spearman_brown(r))
