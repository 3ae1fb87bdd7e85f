"""A quick score of one heatmap artifact, for the end of a training run (no dlib, well under 2 s).

``score_artifact(directory)`` reads and verifies ``heatmaps/<method>`` and scores each class
against the Ekman and AU masks: IoU of the Otsu region of the stretched map (the study's
rule) and the localisation metrics of the unthresholded map.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ferlens.evaluation.localisation.masks import load_families
from ferlens.evaluation.localisation.scores import LOCALISATION_METRICS, Threshold, score_heatmap
from ferlens.formats.heatmap_artifact import read_artifact, stretch

QUICK_METRICS = ("iou",) + LOCALISATION_METRICS


def score_artifact(directory: str | Path, families: Sequence[str] = ("ekman", "au"), min_count: int = 1) -> pd.DataFrame:
    """One row per class (index: class name), columns ``count`` (images behind the class
    heatmap) then ``<family>_<metric>`` for each family (``ekman``, ``au`` or a mask directory,
    named by its folder) and each of ``QUICK_METRICS``, all in [0, 1]. NaN where the class
    has fewer than ``min_count`` images (missing, not zero) or the family has no mask for it."""
    artifact = read_artifact(directory)
    masks = load_families({Path(kind).name: kind for kind in families})
    counts = artifact.manifest.class_counts()
    rows = []
    for name, heatmap, count in zip(artifact.classes, artifact.heatmaps, counts, strict=True):
        row: dict[str, float] = {"count": count}
        for family, family_masks in masks.items():
            scores = score_heatmap(stretch(heatmap), family_masks[name], Threshold(), heatmap) if count >= min_count and name in family_masks else {}
            row |= {f"{family}_{metric}": scores.get(metric, np.nan) for metric in QUICK_METRICS}
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(artifact.classes, name="class"))
