"""Chance levels for every score: maps that know nothing about the expression.

- the face prior: for each expression, a network's mean map over its *other* classes, each
  class weighted equally (what it looks at whatever the expression, without the expression
  itself, so frequent classes are not pulled toward their own prior), scored against that
  expression's mask; ``score - face-prior score`` is the report's "specific alignment";
- a centre-bias Gaussian on the template;
- a uniform map inside the face (the template above the jaw line, between the jaw's ends);
- the heatmaps of a random-weights model of the same network, when given (``baseline=``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from ferlens.analysis.heatmap_set import HeatmapSet
from ferlens.evaluation.localisation.masks import MaskFamily
from ferlens.evaluation.localisation.scores import METRICS, MaskRegions, Threshold, gray_levels, score_maps
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, template_points

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


def face_prior(heatmap_set: HeatmapSet, min_count: int = 1, leave_out: int | None = None) -> np.ndarray | None:
    """float [275, 224]: the equal-weight mean of the set's non-empty class maps, leaving out
    class ``leave_out`` (the expression the prior is the chance level of); the study's gray
    maps are averaged as stored. None when no class is left."""
    present = ~np.array(heatmap_set.missing(min_count))
    if leave_out is not None:
        present[leave_out] = False
    if not present.any():
        return None
    maps = heatmap_set.gray() / 255.0 if heatmap_set.from_gray else heatmap_set.heatmaps.astype(np.float64)
    return maps[present].mean(axis=0).astype(np.float32)


@dataclass(frozen=True)
class MaskBank:
    """Every mask of every family, cut once into regions (``MaskRegions``), so that many maps
    are scored against them without recutting: ``keys`` [(family, expression)] name the columns."""

    keys: list[tuple[str, str]]
    regions: MaskRegions

    @classmethod
    def of(cls, families: dict[str, MaskFamily]) -> MaskBank:
        keys = [(family, expression) for family, masks in families.items() for expression in masks]
        return cls(keys, MaskRegions.of(np.stack([families[family][expression] for family, expression in keys])))

    def score(self, heatmaps: np.ndarray, threshold: Threshold) -> list[dict[tuple[str, str], dict[str, float]]]:
        """All ``METRICS`` of maps [B, 275, 224] against every mask: per map {(family, expression): {metric: value}}."""
        flat = np.asarray(heatmaps).reshape(len(heatmaps), -1)
        scores = score_maps(gray_levels(flat), flat, self.regions, threshold)
        return [{key: {metric: float(scores[metric][b, m]) for metric in METRICS} for m, key in enumerate(self.keys)} for b in range(len(flat))]


def score_against_masks(heatmap: np.ndarray, bank: MaskBank, threshold: Threshold, only: str | None = None) -> dict[tuple[str, str], dict[str, float]]:
    """All ``METRICS`` of one map [275, 224] against every mask of the bank (of expression
    ``only``, when given): {(family, expression): {metric: value}}."""
    scores = bank.score(heatmap[None], threshold)[0]
    return {key: values for key, values in scores.items() if only is None or key[1] == only}


def set_priors(heatmap_set: HeatmapSet, bank: MaskBank, threshold: Threshold, min_count: int) -> dict[str, dict[tuple[str, str], dict[str, float]]]:
    """{expression: its leave-one-class-out face prior's scores against that expression's
    masks} for every non-empty class of a set with a mask, scored in one batch."""
    wanted = {expression for _, expression in bank.keys}
    missing = heatmap_set.missing(min_count)
    chosen, priors = [], []
    for c, expression in enumerate(heatmap_set.classes):
        prior = None if missing[c] or expression not in wanted else face_prior(heatmap_set, min_count, leave_out=c)
        if prior is not None:
            chosen.append(expression)
            priors.append(prior)
    if not priors:
        return {}
    scores = bank.score(np.stack(priors), threshold)
    return {expression: {key: values for key, values in score.items() if key[1] == expression} for expression, score in zip(chosen, scores, strict=True)}


def architecture(heatmap_set: HeatmapSet) -> str:
    """The network a set was made with (the manifest's ``run.model``), else its label."""
    return heatmap_set.run.model if heatmap_set.run is not None and heatmap_set.run.model else heatmap_set.network


def baseline_scores(
    pooled: list[HeatmapSet], families: dict[str, MaskFamily], threshold: Threshold, min_count: int, sigma: float, random_sets: list[HeatmapSet]
) -> pd.DataFrame:
    """Tidy scores (``BASELINE_COLUMNS``) of the baselines: each pooled set's face prior,
    the centre-bias Gaussian and the uniform face (network "-", method "-"), and every
    random-weights set's class heatmaps (network = the network it is the baseline of)."""
    rows = []
    bank = MaskBank.of(families)

    def add(baseline: str, network: str, method: str, scores: dict, only: str | None = None) -> None:
        for (family, expression), values in scores.items():
            if only is None or expression == only:
                rows.extend((baseline, network, method, expression, family, metric, value) for metric, value in values.items())

    chance = np.stack([centre_bias_map(sigma), face_region().astype(np.float32)])
    for name, scores in zip((CENTRE_BIAS, UNIFORM_FACE), bank.score(chance, threshold), strict=True):
        add(name, "-", "-", scores)
    for heatmap_set in pooled:
        for scores in set_priors(heatmap_set, bank, threshold, min_count).values():
            add(FACE_PRIOR, heatmap_set.network, heatmap_set.method, scores)
    for random_set in random_sets:
        present = [c for c, missing in enumerate(random_set.missing(min_count)) if not missing]
        if present:
            for c, scores in zip(present, bank.score(random_set.heatmaps[present], threshold), strict=True):
                add(RANDOM_WEIGHTS, random_set.network, random_set.method, scores, only=random_set.classes[c])
    return pd.DataFrame(rows, columns=BASELINE_COLUMNS)
