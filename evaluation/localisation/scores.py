"""Scores of heatmaps against binary masks: thresholded overlap, soft similarity and
localisation on the unthresholded map.

Thresholding follows Study 1: on the uint8 min-max stretched heatmap, a pixel is "important"
when its value is strictly greater than the threshold t. The localisation metrics read the
unthresholded map (the float heatmap when there is one, else the gray image), so they suit
smooth maps whose Otsu region is a blob.

One batched engine (``score_maps``: B heatmaps against M masks at once) computes every
metric; the one-map functions below are its B = M = 1 case, kept as the readable definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from ferlens.user_errors import UserError

BINARY_METRICS = ("iou", "f1", "precision", "recall")
SOFT_METRICS = ("ncc", "cosine")
LOCALISATION_METRICS = ("mass_accuracy", "rank_accuracy", "pointing_game", "roc_auc")
METRICS = BINARY_METRICS + SOFT_METRICS + LOCALISATION_METRICS
#: the values each metric can take (NCC is a correlation; the cosine of non-negative maps and
#: every other score is a share, an overlap or a probability)
METRIC_RANGES = {metric: (-1.0, 1.0) if metric == "ncc" else (0.0, 1.0) for metric in METRICS}
#: ``score_maps(ranks=...)``: rank the float map (the study's scores) or its 256 gray levels
#: (the bootstrap's fast path: rank accuracy and ROC-AUC from per-map level histograms).
RANKINGS = ("exact", "gray")
LEVELS = 256


def gray_levels(heatmaps: np.ndarray) -> np.ndarray:
    """uint8 [B, P]: each of the heatmaps [B, P] min-max stretched to [0, 255] in float32
    arithmetic, a constant map all 0 (``formats.heatmap_artifact.stretch``, batched)."""
    heatmaps = np.asarray(heatmaps, np.float32)
    low, high = heatmaps.min(axis=1, keepdims=True), heatmaps.max(axis=1, keepdims=True)
    span = high - low
    stretched = np.subtract(heatmaps, low)
    np.divide(stretched, np.where(span > 0, span, np.float32(1)), out=stretched)
    np.multiply(stretched, np.float32(255), out=stretched)
    grays = np.rint(stretched, out=stretched).astype(np.uint8)
    grays[span[:, 0] <= 0] = 0
    return grays


def level_histograms(grays: np.ndarray) -> np.ndarray:
    """int64 [B, 256]: how many pixels of each map (uint8 [B, P]) have each gray level."""
    rows = np.arange(len(grays), dtype=np.int64)[:, None] * LEVELS
    return np.bincount((rows + grays).ravel(), minlength=len(grays) * LEVELS).reshape(len(grays), LEVELS)


def otsu_levels(histograms: np.ndarray) -> np.ndarray:
    """float64 [B]: Otsu's threshold of each gray histogram [B, 256], exactly as
    ``skimage.filters.threshold_otsu`` on the image (bins from its lowest to its highest
    level; a one-level image returns that level)."""
    levels = np.arange(LEVELS, dtype=np.int64)
    weight1 = np.cumsum(histograms, axis=1)
    weight2 = np.cumsum(histograms[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean1 = np.cumsum(histograms * levels, axis=1) / weight1
        mean2 = (np.cumsum((histograms * levels)[:, ::-1], axis=1) / weight2[:, ::-1])[:, ::-1]
        variance12 = weight1[:, :-1] * weight2[:, 1:] * (mean1[:, :-1] - mean2[:, 1:]) ** 2
    present = histograms > 0
    lowest = present.argmax(axis=1)
    highest = LEVELS - 1 - present[:, ::-1].argmax(axis=1)
    inside = (levels[None, :-1] >= lowest[:, None]) & (levels[None, :-1] < highest[:, None])  # skimage's bins lowest..highest
    best = np.where(inside, np.nan_to_num(variance12, nan=-np.inf), -np.inf).argmax(axis=1)
    return np.where(lowest == highest, highest, best).astype(np.float64)


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

    def levels(self, grays: np.ndarray, histograms: np.ndarray | None = None) -> np.ndarray:
        """Gray levels t [B] of the maps ``grays`` (uint8 [B, P]; ``histograms`` their
        ``level_histograms`` when known); important pixels are those > t."""
        if self.kind == "fixed":
            return np.full(len(grays), float(self.value))
        if self.kind == "topk":
            return np.percentile(grays, 100 - self.value, axis=1)
        return otsu_levels(level_histograms(grays) if histograms is None else histograms)

    def level(self, gray: np.ndarray) -> float:
        """Gray level t of one map ``gray`` (uint8 [H, W]); a constant map has no important pixels."""
        return float(self.levels(gray.reshape(1, -1))[0])

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}({self.value:g})"


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator (broadcast), 0 where the denominator is 0."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, np.float64), np.asarray(denominator, np.float64))
    safe = np.where(denominator != 0, denominator, 1.0)
    return np.where(denominator != 0, numerator / safe, 0.0)


@dataclass
class MaskRegions:
    """M masks (bool [M, P]) as the R distinct regions of pixels they cut the map into:
    ``membership`` bool [R, M] (which masks hold each region), ``region_of`` int64 [P]."""

    masks: np.ndarray
    membership: np.ndarray
    region_of: np.ndarray

    @classmethod
    def of(cls, masks: np.ndarray) -> MaskRegions:
        if isinstance(masks, MaskRegions):
            return masks
        masks = np.asarray(masks, bool).reshape(len(masks), -1)
        membership, region_of = np.unique(masks.T, axis=0, return_inverse=True)
        return cls(masks, membership, region_of.ravel().astype(np.int64))

    @property
    def sizes(self) -> np.ndarray:
        return np.count_nonzero(self.masks, axis=1)


@dataclass
class LevelCounts:
    """Per-map pixel counts by gray level, from which every gray-level score follows.

    all: int64 [B, 256] pixels of each map at each level. inside: int64 [B, M, 256] the
    same for each mask's pixels. sizes: int64 [M] mask pixels. pixels: P, pixels per map.
    """

    all: np.ndarray
    inside: np.ndarray
    sizes: np.ndarray
    pixels: int

    @classmethod
    def of(cls, grays: np.ndarray, masks: np.ndarray | MaskRegions) -> LevelCounts:
        """The counts of the maps ``grays`` (uint8 [B, P]) inside each of the masks (bool
        [M, P], or their ``MaskRegions``): one pass over the pixels counts every (map, region, level)."""
        regions = MaskRegions.of(masks)
        b, r = len(grays), len(regions.membership)
        keys = (np.arange(b, dtype=np.int64)[:, None] * r + regions.region_of[None, :]) * LEVELS + grays
        counts = np.bincount(keys.ravel(), minlength=b * r * LEVELS).reshape(b, r, LEVELS)  # [B, R, 256]
        inside = np.swapaxes(np.swapaxes(counts, 1, 2).astype(np.float64) @ regions.membership.astype(np.float64), 1, 2)  # exact integers
        return cls(counts.sum(axis=1), np.rint(inside).astype(np.int64), regions.sizes, grays.shape[1])

    def above(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pixels [B, 1], mask pixels [B, M]) of each map strictly above its gray level [B]."""
        keep = np.arange(LEVELS)[None, :] > np.asarray(levels)[:, None]  # [B, 256]
        return (self.all * keep).sum(axis=1, keepdims=True), (self.inside * keep[:, None, :]).sum(axis=2)


def binary_score_maps(predicted: np.ndarray, overlap: np.ndarray, sizes: np.ndarray) -> dict[str, np.ndarray]:
    """IoU, F1, precision and recall [B, M] from the important pixels of each map
    (``predicted`` [B, 1]), those inside each mask (``overlap`` [B, M]) and the mask sizes
    [M] (the truth). An empty prediction has precision 0 (and F1 0), never NaN."""
    truth = sizes[None, :]
    precision, recall = _ratio(overlap, predicted), _ratio(overlap, truth)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {"iou": _ratio(overlap, predicted + truth - overlap), "f1": f1, "precision": precision, "recall": recall}


def soft_score_maps(counts: LevelCounts) -> dict[str, np.ndarray]:
    """Normalized correlation coefficient (Pearson r) and cosine [B, M] between each heatmap
    (its gray levels / 255) and each 0/1 mask, in exact integer sums over the level counts;
    0 when either is constant (r undefined) or all zero."""
    levels = np.arange(LEVELS, dtype=np.int64)
    total, squares = counts.all @ levels, counts.all @ levels**2  # [B]: sum of levels, of squared levels
    joint = counts.inside @ levels  # [B, M]: sum of levels inside each mask
    n, k = counts.pixels, counts.sizes[None, :]
    covariance = n * joint - total[:, None] * k  # n^2 x the covariance: integers
    spread = np.sqrt((n * squares - total**2).astype(np.float64))[:, None] * np.sqrt((n * k - k**2).astype(np.float64))
    length = np.sqrt(squares.astype(np.float64))[:, None] * np.sqrt(k.astype(np.float64))
    return {"ncc": _ratio(covariance, spread), "cosine": _ratio(joint, length)}


def _auc_from_rank_sums(rank_sums: np.ndarray, sizes: np.ndarray, pixels: int) -> np.ndarray:
    """Mann-Whitney ROC-AUC [B, M] from the rank sums of the mask pixels; NaN for an empty or full mask."""
    positives = sizes.astype(np.float64)[None, :]
    negatives = pixels - positives
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sums - positives * (positives + 1) / 2) / (positives * negatives)
    return np.where((positives > 0) & (negatives > 0), auc, np.nan)


def _exact_rank_scores(heatmaps: np.ndarray, masks: np.ndarray) -> dict[str, np.ndarray]:  # masks: bool [M, P]
    """Rank accuracy and ROC-AUC [B, M] from the float maps' own order (average ranks for ties)."""
    values = heatmaps.astype(np.float64)
    sizes = np.count_nonzero(masks, axis=1)
    ordered = np.sort(values, axis=1)
    rank_accuracy = np.full((len(values), len(masks)), np.nan)
    for m, (mask, k) in enumerate(zip(masks, sizes, strict=True)):
        if k == 0:
            continue
        kth = ordered[:, values.shape[1] - k][:, None]
        above, tied = values > kth, values == kth
        slots = k - np.count_nonzero(above, axis=1)
        hits = np.count_nonzero(above & mask, axis=1) + slots * np.count_nonzero(tied & mask, axis=1) / np.count_nonzero(tied, axis=1)
        rank_accuracy[:, m] = hits / k
    ranks = rankdata(values, axis=1)  # average ranks of tied values
    return {"rank_accuracy": rank_accuracy, "roc_auc": _auc_from_rank_sums(ranks @ masks.T.astype(np.float64), sizes, values.shape[1])}


def _gray_rank_scores(counts: LevelCounts) -> dict[str, np.ndarray]:
    """Rank accuracy and ROC-AUC [B, M] ranking the 256 gray levels (ties within a level)."""
    histograms, inside, k = counts.all[:, None, :], counts.inside, counts.sizes[None, :]
    below = np.cumsum(histograms, axis=2) - histograms  # pixels below each level
    rank_sums = (inside * (below + (histograms + 1) / 2)).sum(axis=2)  # a pixel at level l has average rank below(l) + (count(l) + 1) / 2
    from_top = np.cumsum(histograms[..., ::-1], axis=2)[..., ::-1]  # [B, 1, 256] pixels at or above each level
    inside_from_top = np.cumsum(inside[..., ::-1], axis=2)[..., ::-1]
    cut = (from_top >= k[..., None]).sum(axis=2) - 1  # [B, M]: the highest level with at least K pixels at or above it
    following = np.minimum(cut + 1, LEVELS - 1)[..., None]
    above = np.where(cut + 1 < LEVELS, np.take_along_axis(np.broadcast_to(from_top, inside.shape), following, 2)[..., 0], 0)
    hits_above = np.where(cut + 1 < LEVELS, np.take_along_axis(inside_from_top, following, 2)[..., 0], 0)
    tied = np.take_along_axis(np.broadcast_to(histograms, inside.shape), cut[..., None], 2)[..., 0]
    tied_inside = np.take_along_axis(inside, cut[..., None], 2)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        rank_accuracy = np.where(k > 0, (hits_above + (k - above) * tied_inside / tied) / k, np.nan)
    return {"rank_accuracy": rank_accuracy, "roc_auc": _auc_from_rank_sums(rank_sums, counts.sizes, counts.pixels)}


def localisation_score_maps(heatmaps: np.ndarray, masks: np.ndarray, counts: LevelCounts | None = None) -> dict[str, np.ndarray]:
    """``LOCALISATION_METRICS`` [B, M] of the unthresholded heatmaps [B, P] against the
    masks (bool [M, P]): mass accuracy and pointing game on the float maps; rank accuracy and
    ROC-AUC on their own order, or, given the gray maps' level ``counts``, on the gray levels.

    - mass accuracy (Arras et al. 2022): the share of the map's positive mass inside the
      mask; a map without positive mass puts none inside: 0.
    - rank accuracy (Arras et al. 2022): the share of the K = |mask| highest pixels inside;
      pixels tied with the K-th highest share the slots left in proportion (a constant map
      scores K / pixels); NaN for an empty mask.
    - pointing game: 1 when every pixel at the maximum lies inside, else 0.
    - ROC-AUC: the probability that a mask pixel outscores an outside pixel, ties counting
      one half (scikit-learn's ``roc_auc_score``); NaN for an empty or full mask.
    """
    values = np.asarray(heatmaps)
    precision = np.float64 if counts is None else np.float32  # the bootstrap's path (gray ranks) sums in float32
    positive = np.clip(values, 0, None, dtype=precision)
    mass = _ratio(positive @ masks.T.astype(precision), positive.sum(axis=1, dtype=np.float64)[:, None])
    peaks = values == values.max(axis=1, keepdims=True)
    pointing = ((peaks.astype(np.float32) @ (~masks).T.astype(np.float32)) == 0).astype(np.float64)
    ranked = _exact_rank_scores(values, masks) if counts is None else _gray_rank_scores(counts)
    return {"mass_accuracy": mass, "rank_accuracy": ranked["rank_accuracy"], "pointing_game": pointing, "roc_auc": ranked["roc_auc"]}


def score_maps(grays: np.ndarray, heatmaps: np.ndarray, masks: np.ndarray | MaskRegions, threshold: Threshold, ranks: str = "exact") -> dict[str, np.ndarray]:
    """Every metric of ``METRICS`` [B, M] of B heatmaps against M masks (bool [M, ...], or
    their ``MaskRegions`` when the same masks score many batches): the thresholded and soft
    scores read ``grays`` (uint8 [B, P], min-max stretched), the localisation scores
    ``heatmaps`` (float [B, P], unstretched). ``ranks``: ``RANKINGS``."""
    if ranks not in RANKINGS:
        raise ValueError(f"ranks={ranks!r}: use one of {RANKINGS}")
    regions = MaskRegions.of(masks)
    grays, heatmaps, masks = grays.reshape(len(grays), -1), np.asarray(heatmaps).reshape(len(heatmaps), -1), regions.masks
    counts = LevelCounts.of(grays, regions)
    predicted, overlap = counts.above(threshold.levels(grays, counts.all))
    return {
        **binary_score_maps(predicted, overlap, counts.sizes),
        **soft_score_maps(counts),
        **localisation_score_maps(heatmaps, masks, counts if ranks == "gray" else None),
    }


def _one(scores: dict[str, np.ndarray]) -> dict[str, float]:
    return {metric: float(values[0, 0]) for metric, values in scores.items()}


def binary_scores(important: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """IoU, F1, precision and recall of ``important`` against ``mask`` (both bool [H, W]; the
    mask is the truth): ``binary_score_maps`` of one map."""
    predicted, overlap = np.count_nonzero(important), np.count_nonzero(important & mask)
    return _one(binary_score_maps(np.array([[predicted]]), np.array([[overlap]]), np.array([np.count_nonzero(mask)])))


def soft_scores(gray: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """NCC and cosine of one map (``gray`` uint8 [H, W]) and ``mask`` (bool [H, W]): ``soft_score_maps``."""
    return _one(soft_score_maps(LevelCounts.of(gray.reshape(1, -1), mask.reshape(1, -1))))


def localisation_scores(heatmap: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """``LOCALISATION_METRICS`` of one unthresholded ``heatmap`` [H, W] (float or gray) against ``mask`` (bool [H, W])."""
    return _one(localisation_score_maps(heatmap.reshape(1, -1), mask.reshape(1, -1)))


def mass_accuracy(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Relevance mass accuracy of one map (``localisation_score_maps``)."""
    return localisation_scores(heatmap, mask)["mass_accuracy"]


def rank_accuracy(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Relevance rank accuracy of one map (``localisation_score_maps``)."""
    return localisation_scores(heatmap, mask)["rank_accuracy"]


def pointing_game(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Pointing game of one map (``localisation_score_maps``)."""
    return localisation_scores(heatmap, mask)["pointing_game"]


def roc_auc(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """ROC-AUC of one map as a score for mask membership (``localisation_score_maps``)."""
    return localisation_scores(heatmap, mask)["roc_auc"]


def missing_scores() -> dict[str, float]:
    """Every metric NaN: the scores of a class without images (missing, not zero)."""
    return dict.fromkeys(METRICS, float("nan"))


def score_heatmap(gray: np.ndarray, mask: np.ndarray, threshold: Threshold, heatmap: np.ndarray | None = None) -> dict[str, float]:
    """All ``METRICS`` of one heatmap against one bool [H, W] mask: the thresholded and soft
    scores read ``gray`` (uint8 [H, W], min-max stretched), the localisation scores read
    ``heatmap`` (float [H, W], unstretched; ``gray`` when None)."""
    if gray.shape != mask.shape:
        raise UserError(f"A heatmap of shape {gray.shape} cannot be scored against a mask of shape {mask.shape}: both must be on the same template.")
    return _one(score_maps(gray[None], (gray if heatmap is None else heatmap)[None], mask[None], threshold))
