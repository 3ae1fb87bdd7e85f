"""Scores of one heatmap against one binary mask: thresholded overlap, soft similarity and
localisation on the unthresholded map.

Thresholding follows Study 1: on the uint8 min-max stretched heatmap, a pixel is "important"
when its value is strictly greater than the threshold t. The localisation metrics read the
unthresholded map (the float heatmap when there is one, else the gray image), so they suit
smooth maps whose Otsu region is a blob.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from skimage.filters import threshold_otsu

from user_errors import UserError

BINARY_METRICS = ("iou", "f1", "precision", "recall")
SOFT_METRICS = ("ncc", "cosine")
LOCALISATION_METRICS = ("mass_accuracy", "rank_accuracy", "pointing_game", "roc_auc")
METRICS = BINARY_METRICS + SOFT_METRICS + LOCALISATION_METRICS


@dataclass(frozen=True)
class Threshold:
    """``otsu`` (the study), ``fixed`` (t = ``value`` in 0..255) or ``topk`` (the ``value``
    percent brightest pixels: t = the (100 - value)th percentile)."""

    kind: str = "otsu"
    value: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("otsu", "fixed", "topk"):
            raise UserError(f"Unknown threshold '{self.kind}': use otsu, fixed or topk.")
        if self.kind == "fixed" and not (self.value is not None and 0 <= self.value <= 255):
            raise UserError("threshold=fixed needs threshold.value between 0 and 255 (a gray level).")
        if self.kind == "topk" and not (self.value is not None and 0 < self.value < 100):
            raise UserError("threshold=topk needs threshold.value strictly between 0 and 100 (percent of pixels).")

    def level(self, gray: np.ndarray) -> float:
        """Gray level t of ``gray`` (uint8 [H, W]); important pixels are those > t."""
        if self.kind == "fixed":
            return float(self.value)
        if self.kind == "topk":
            return float(np.percentile(gray, 100 - self.value))
        if gray.min() == gray.max():
            return float(gray.max())  # a constant map has no important pixels
        return float(threshold_otsu(gray))

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}({self.value:g})"


def binary_scores(important: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """IoU, F1, precision and recall of ``important`` against ``mask`` (both bool [H, W]; the
    mask is the truth). An empty prediction has precision 0 (and F1 0), never NaN."""
    overlap = float(np.count_nonzero(important & mask))
    union = float(np.count_nonzero(important | mask))
    predicted, truth = float(np.count_nonzero(important)), float(np.count_nonzero(mask))
    precision = overlap / predicted if predicted else 0.0
    recall = overlap / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"iou": overlap / union if union else 0.0, "f1": f1, "precision": precision, "recall": recall}


def soft_scores(gray: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Normalized correlation coefficient (Pearson r) and cosine between the heatmap
    (``gray`` / 255) and the 0/1 mask; 0 when either is constant (r undefined) or all zero."""
    heatmap = gray.astype(np.float64).ravel() / 255
    target = mask.astype(np.float64).ravel()
    centred_h, centred_t = heatmap - heatmap.mean(), target - target.mean()
    spread = np.linalg.norm(centred_h) * np.linalg.norm(centred_t)
    length = np.linalg.norm(heatmap) * np.linalg.norm(target)
    return {
        "ncc": float(centred_h @ centred_t / spread) if spread else 0.0,
        "cosine": float(heatmap @ target / length) if length else 0.0,
    }


def mass_accuracy(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Relevance mass accuracy (Arras et al. 2022): the share of the map's positive mass
    (sum of max(value, 0) over [H, W], any unit) that lies inside ``mask``; in [0, 1].
    A map without positive mass puts none inside: 0."""
    positive = np.clip(heatmap.astype(np.float64), 0, None)
    total = positive.sum()
    return float(positive[mask].sum() / total) if total > 0 else 0.0


def rank_accuracy(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Relevance rank accuracy (Arras et al. 2022): the share of the K = |mask| highest
    pixels of ``heatmap`` [H, W] that lie inside ``mask``; in [0, 1], NaN for an empty mask.
    Pixels tied with the K-th highest value share the slots left after the higher ones in
    proportion (the expected share under random tie-breaking): a constant map scores K / pixels."""
    values, inside = heatmap.astype(np.float64).ravel(), mask.ravel()
    k = int(np.count_nonzero(inside))
    if k == 0:
        return float("nan")
    kth = np.partition(values, values.size - k)[values.size - k]
    above, tied = values > kth, values == kth
    slots = k - np.count_nonzero(above)
    hits = np.count_nonzero(above & inside) + slots * np.count_nonzero(tied & inside) / np.count_nonzero(tied)
    return float(hits / k)


def pointing_game(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Pointing game: 1.0 when the maximum of ``heatmap`` [H, W] lies inside ``mask``, else
    0.0. Ties: a hit only when every pixel at the maximum lies inside, so a tie never hits by
    luck and a constant map misses (unless the mask covers the whole map)."""
    peak = heatmap == heatmap.max()
    return float(np.all(mask[peak]))


def roc_auc(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """ROC-AUC of the map's values as a score for mask membership (the probability that a
    mask pixel outscores an outside pixel, ties counting one half: sklearn's
    ``roc_auc_score``); in [0, 1], 0.5 for a constant map, NaN when the mask is empty or full."""
    inside = mask.ravel()
    positives = int(np.count_nonzero(inside))
    negatives = inside.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(heatmap.astype(np.float64).ravel())  # average ranks of tied values
    return float((ranks[inside].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def localisation_scores(heatmap: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """``LOCALISATION_METRICS`` of the unthresholded ``heatmap`` [H, W] (float or gray) against ``mask`` (bool [H, W])."""
    return {
        "mass_accuracy": mass_accuracy(heatmap, mask),
        "rank_accuracy": rank_accuracy(heatmap, mask),
        "pointing_game": pointing_game(heatmap, mask),
        "roc_auc": roc_auc(heatmap, mask),
    }


def missing_scores() -> dict[str, float]:
    """Every metric NaN: the scores of a class without images (missing, not zero)."""
    return dict.fromkeys(METRICS, float("nan"))


def score_heatmap(gray: np.ndarray, mask: np.ndarray, threshold: Threshold, heatmap: np.ndarray | None = None) -> dict[str, float]:
    """All ``METRICS`` of one heatmap against one bool [H, W] mask: the thresholded and soft
    scores read ``gray`` (uint8 [H, W], min-max stretched), the localisation scores read
    ``heatmap`` (float [H, W], unstretched; ``gray`` when None)."""
    if gray.shape != mask.shape:
        raise UserError(f"A heatmap of shape {gray.shape} cannot be scored against a mask of shape {mask.shape}: both must be on the same template.")
    return {
        **binary_scores(gray > threshold.level(gray), mask),
        **soft_scores(gray, mask),
        **localisation_scores(gray if heatmap is None else heatmap, mask),
    }
