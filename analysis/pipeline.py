"""The analysis pipeline: from a collection of heatmap sets to scores and clusterings (no files written here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.aggregate import pool_folds, score_sets
from analysis.clustering import Clustering, cluster_maps
from analysis.heatmap_set import POOLED, HeatmapSet
from analysis.masks import MaskFamily
from analysis.scoring import Threshold
from analysis.sources import Collection
from user_errors import UserError


@dataclass
class Analysis:
    """Everything a report shows.

    sets: the sources' sets plus the pooled ones. scores: tidy scores of every set.
    clusterings: {method: {expression: Clustering of the networks' pooled heatmaps}}.
    """

    sets: list[HeatmapSet]
    scores: pd.DataFrame
    clusterings: dict[str, dict[str, Clustering]]
    families: dict[str, MaskFamily]
    threshold: Threshold
    skipped: list[tuple[str, str]] = field(default_factory=list)
    read: int = 0  # heatmap sets the source gave (before pooling)

    @property
    def classes(self) -> list[str]:
        return self.sets[0].classes

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(s.method for s in self.sets))

    def pooled(self, method: str) -> list[HeatmapSet]:
        return [s for s in self.sets if s.method == method and s.fold == POOLED]


def check_compatible(sets: list[HeatmapSet]) -> None:
    """All sets must share one template and one class list; else one sentence naming two."""
    first = sets[0]
    for other in sets[1:]:
        if other.classes != first.classes:
            raise UserError(
                f"'{first.origin}' has classes {first.classes} but '{other.origin}' has {other.classes}: "
                "analyze runs with the same class list together (use the filters)."
            )
        if other.template and first.template and other.template != first.template:
            raise UserError(f"'{first.origin}' uses template {first.template} but '{other.origin}' uses {other.template}: analyze one template at a time.")
        if other.heatmaps.shape != first.heatmaps.shape:
            shapes = f"{first.heatmaps.shape} but '{other.origin}' {other.heatmaps.shape}"
            raise UserError(f"'{first.origin}' holds heatmaps {shapes}: analyze one template at a time.")


def analyze_collection(collection: Collection, families: dict[str, MaskFamily], threshold: Threshold, progress: bool = True) -> Analysis:
    """Pool folds, score every set against every family, cluster each method's pooled heatmaps per expression."""
    check_compatible(collection.sets)
    sets = pool_folds(collection.sets)
    scores = score_sets(sets, families, threshold, progress)
    clusterings: dict[str, dict[str, Clustering]] = {}
    for method in dict.fromkeys(s.method for s in sets):
        pooled = [s for s in sets if s.method == method and s.fold == POOLED]
        grays = np.stack([s.gray() for s in pooled])  # [N, C, H, W]
        clusterings[method] = {
            expression: cluster_maps([s.network for s in pooled], grays[:, c].astype(np.float64) / 255) for c, expression in enumerate(pooled[0].classes)
        }
    return Analysis(sets, scores, clusterings, families, threshold, list(collection.skipped), len(collection.sets))
