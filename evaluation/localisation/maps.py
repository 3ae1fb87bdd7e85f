"""Scoring template heatmaps against masks in one call, for use from Python (``ferlens.score_maps``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ferlens.evaluation.localisation import scores
from ferlens.evaluation.localisation.scores import Threshold
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH
from ferlens.user_errors import UserError


def score_template_maps(maps: np.ndarray, masks: np.ndarray | Mapping[str, np.ndarray], threshold: Threshold | None = None) -> dict[str, np.ndarray]:
    """Every metric of ``evaluation.localisation.scores.METRICS`` of B heatmaps ``maps`` (float [B, 275, 224]
    template pixels, non-negative, any scale) against M ``masks`` (bool [M, 275, 224], or a
    mask family ``{expression: bool [275, 224]}`` such as ``ekman_family()``, its order kept):
    ``{metric: float64 [B, M]}``. The thresholded and soft scores read each map min-max
    stretched to 0..255 gray levels (the study's PNGs); ``threshold``: Otsu's by default."""
    maps = np.asarray(maps, np.float32)
    stacked = np.stack([np.asarray(mask, bool) for mask in masks.values()]) if isinstance(masks, Mapping) else np.asarray(masks, bool)
    shape = (TEMPLATE_HEIGHT, TEMPLATE_WIDTH)
    if maps.ndim != 3 or maps.shape[1:] != shape or stacked.ndim != 3 or stacked.shape[1:] != shape:
        got = f"{maps.shape} and {stacked.shape}"
        raise UserError(f"score_maps takes maps [B, 275, 224] and masks [M, 275, 224] on the template face, not {got}: warp the maps first.")
    flat = maps.reshape(len(maps), -1)
    return scores.score_maps(scores.gray_levels(flat), flat, stacked, threshold or Threshold())
