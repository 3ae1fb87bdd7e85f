"""Chance levels for every score: maps that know nothing about the expression.

- the face prior: a network's mean map over all its classes (what it looks at whatever the
  expression), scored against each expression's mask; ``score - face-prior score`` is the
  report's headline "specific alignment";
- a centre-bias Gaussian on the template;
- a uniform map inside the face (the template above the jaw line, between the jaw's ends);
- the heatmaps of a random-weights model of the same network, when given (``baseline=``).
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, template_points
from ferlens.scoring.masks import MaskFamily
from ferlens.scoring.scores import METRICS, Threshold, gray_levels, score_maps
from ferlens.user_errors import UserError

CENTRE_BIAS = "centre-bias Gaussian"
UNIFORM_FACE = "uniform face"
FACE_PRIOR = "face prior"
RANDOM_WEIGHTS = "random weights"
BASELINE_COLUMNS = ["baseline", "network", "method", "expression", "mask_family", "metric", "value"]


def centre_bias_map(sigma: float = 0.25) -> np.ndarray:
    """float32 [275, 224]: a Gaussian at the template's centre with standard deviations of
    ``sigma`` x its width and ``sigma`` x its height."""
    rows, columns = np.mgrid[0:TEMPLATE_HEIGHT, 0:TEMPLATE_WIDTH].astype(np.float64)
    y, x = (rows + 0.5 - TEMPLATE_HEIGHT / 2) / (sigma * TEMPLATE_HEIGHT), (columns + 0.5 - TEMPLATE_WIDTH / 2) / (sigma * TEMPLATE_WIDTH)
    return np.exp(-(x**2 + y**2) / 2).astype(np.float32)


def face_region() -> np.ndarray:
    """bool [275, 224]: the template face, the polygon of the jaw (points 0-16) closed along
    the top edge (points 68-84, the jaw moved to y = 0)."""
    points = template_points()
    polygon = np.concatenate([points[0:17], points[68:85][::-1]])
    region = np.zeros((TEMPLATE_HEIGHT, TEMPLATE_WIDTH), np.uint8)
    cv2.fillPoly(region, [np.round(polygon).astype(np.int32)], 1)
    return region.astype(bool)


def face_prior(heatmap_set: HeatmapSet, min_count: int = 1) -> np.ndarray | None:
    """float [275, 224]: the set's mean map over all its non-empty classes, each class
    weighted by its images (equally when the source gives no counts); the study's gray maps
    are averaged as stored. None when every class is empty."""
    present = ~np.array(heatmap_set.missing(min_count))
    if not present.any():
        return None
    weights = np.array(heatmap_set.counts, np.float64) if heatmap_set.counts is not None else np.ones(len(heatmap_set.classes))
    weights = np.where(present, weights, 0.0)
    maps = heatmap_set.gray() / 255.0 if heatmap_set.from_gray else heatmap_set.heatmaps.astype(np.float64)
    return (np.einsum("c,chw->hw", weights, maps) / weights.sum()).astype(np.float32)


def score_against_masks(heatmap: np.ndarray, families: dict[str, MaskFamily], threshold: Threshold) -> dict[tuple[str, str], dict[str, float]]:
    """All ``METRICS`` of one map [275, 224] against every mask: {(family, expression): {metric: value}}."""
    keys = [(family, expression) for family, masks in families.items() for expression in masks]
    masks = np.stack([families[family][expression] for family, expression in keys])
    flat = heatmap.reshape(1, -1)
    scores = score_maps(gray_levels(flat), flat, masks, threshold)
    return {key: {metric: float(scores[metric][0, m]) for metric in METRICS} for m, key in enumerate(keys)}


def random_weight_sets(paths: str | list[str] | None, label: str, analysis) -> list[HeatmapSet]:
    """The pooled heatmap sets of random-weights runs under ``paths`` (run directories or
    artifacts), labelled like the analysis' own, for the networks and methods the
    ``analysis`` has; a set that matches none is an error naming the labels it could match."""
    if not paths:
        return []
    from ferlens.analysis.aggregate import pool_folds
    from ferlens.analysis.sources.base import Filters
    from ferlens.analysis.sources.local import collect_local

    collection = collect_local([paths] if isinstance(paths, str) else list(paths), Filters(), label)
    known = {(s.network, s.method) for s in analysis.sets}
    pooled = [s for s in pool_folds(collection.sets, analysis.min_count) if s.fold == POOLED]
    unmatched = sorted({f"{s.network} · {s.method}" for s in pooled if (s.network, s.method) not in known})
    if unmatched:
        networks = ", ".join(sorted({f"{network} · {method}" for network, method in known}))
        raise UserError(
            f"baseline heatmaps {', '.join(unmatched)} match no analysed network and method ({networks}): give random-weights runs of the same networks."
        )
    return pooled


def baseline_scores(
    pooled: list[HeatmapSet], families: dict[str, MaskFamily], threshold: Threshold, min_count: int, sigma: float, random_sets: list[HeatmapSet]
) -> pd.DataFrame:
    """Tidy scores (``BASELINE_COLUMNS``) of the baselines: each pooled set's face prior,
    the centre-bias Gaussian and the uniform face (network "-", method "-"), and every
    random-weights set's class heatmaps (network = the network it is the baseline of)."""
    rows = []

    def add(baseline: str, network: str, method: str, scores: dict, only: str | None = None) -> None:
        for (family, expression), values in scores.items():
            if only is None or expression == only:
                rows.extend((baseline, network, method, expression, family, metric, value) for metric, value in values.items())

    for name, heatmap in ((CENTRE_BIAS, centre_bias_map(sigma)), (UNIFORM_FACE, face_region().astype(np.float32))):
        add(name, "-", "-", score_against_masks(heatmap, families, threshold))
    for heatmap_set in pooled:
        prior = face_prior(heatmap_set, min_count)
        if prior is not None:
            add(FACE_PRIOR, heatmap_set.network, heatmap_set.method, score_against_masks(prior, families, threshold))
    for random_set in random_sets:
        for expression, heatmap, missing in zip(random_set.classes, random_set.heatmaps, random_set.missing(min_count), strict=True):
            if not missing:
                add(RANDOM_WEIGHTS, random_set.network, random_set.method, score_against_masks(heatmap, families, threshold), only=expression)
    return pd.DataFrame(rows, columns=BASELINE_COLUMNS)
