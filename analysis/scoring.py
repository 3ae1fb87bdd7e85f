"""Scores of one gray heatmap against one binary mask: thresholded overlap and soft similarity.

Thresholding follows Study 1: on the uint8 min-max stretched heatmap, a pixel is "important"
when its value is strictly greater than the threshold t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.filters import threshold_otsu

from user_errors import UserError

BINARY_METRICS = ("iou", "f1", "precision", "recall")
SOFT_METRICS = ("ncc", "cosine")


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


def score_heatmap(gray: np.ndarray, mask: np.ndarray, threshold: Threshold) -> dict[str, float]:
    """All metrics of one uint8 [H, W] heatmap against one bool [H, W] mask."""
    if gray.shape != mask.shape:
        raise UserError(f"A heatmap of shape {gray.shape} cannot be scored against a mask of shape {mask.shape}: both must be on the same template.")
    return {**binary_scores(gray > threshold.level(gray), mask), **soft_scores(gray, mask)}
