"""The analysis pipeline: from a collection of heatmap sets to scores and clusterings (no files written here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ferlens.analysis.aggregate import ScoreMatrices, pool_folds, score_sets
from ferlens.analysis.clustering import Clustering, cluster_maps
from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.analysis.sources import Collection
from ferlens.evaluation.localisation.masks import MaskFamily
from ferlens.evaluation.localisation.scores import Threshold
from ferlens.user_errors import UserError

TEMPLATE_KEYS = ("name", "width", "height", "points_sha256")  # compared where both sets give them


@dataclass
class Analysis:
    """Everything a report shows.

    sets: the sources' sets plus the pooled ones. scores: tidy scores of every set (NaN for
    missing classes). clusterings: {method: {expression: Clustering of the networks' pooled
    heatmaps}}, networks whose class is missing left out. min_count: the fewest images a
    class heatmap needs to be scored.
    """

    sets: list[HeatmapSet]
    scores: pd.DataFrame
    clusterings: dict[str, dict[str, Clustering]]
    families: dict[str, MaskFamily]
    threshold: Threshold
    skipped: list[tuple[str, str]] = field(default_factory=list)
    read: int = 0  # heatmap sets the source gave (before pooling)
    min_count: int = 1
    matrices: ScoreMatrices = field(default_factory=dict)  # every heatmap against every mask of its family

    @property
    def classes(self) -> list[str]:
        return self.sets[0].classes

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(s.method for s in self.sets))

    def pooled(self, method: str) -> list[HeatmapSet]:
        return [s for s in self.sets if s.method == method and s.fold == POOLED]

    def empty_cells(self) -> list[tuple[str, str, str, str]]:
        """(network, method, fold, class) of every class heatmap resting on fewer than ``min_count`` images."""
        return [
            (s.network, s.method, str(s.fold), name) for s in self.sets for name, missing in zip(s.classes, s.missing(self.min_count), strict=True) if missing
        ]

    def split_of(self, method: str) -> str:
        """The split ``method``'s heatmaps explained, for headings and figure titles: ``test
        split``, ``test and val splits`` (sets of either), or ``split not recorded``."""
        recorded = [s for s in self.sets if s.method == method and (s.fold != POOLED or s.manifest is not None)]  # a pooled set has its folds' split
        splits = sorted({s.split or "not recorded" for s in recorded})
        if splits in ([], ["not recorded"]):  # the study's PNGs (pooled only, no manifest) do not say
            return "split not recorded"
        return f"{' and '.join(splits)} split" + ("s" if len(splits) > 1 else "")

    def flat_cells(self) -> list[tuple[str, str, str, str]]:
        """(network, method, fold, class) of every class heatmap that rests on images but is
        the same value everywhere (all zero: no evidence at all); it is scored, as a map with
        nothing above any threshold, and named in the report and the log."""
        return [
            (s.network, s.method, str(s.fold), name)
            for s in self.sets
            for name, heatmap, missing in zip(s.classes, s.heatmaps, s.missing(self.min_count), strict=True)
            if not missing and float(heatmap.max()) == float(heatmap.min())
        ]


def check_compatible(sets: list[HeatmapSet]) -> None:
    """All sets must share one template (name, size, and the hash of its points where both
    give it) and one class list; else one sentence naming two."""
    first = sets[0]
    for other in sets[1:]:
        if other.classes != first.classes:
            raise UserError(
                f"'{first.origin}' has classes {first.classes} but '{other.origin}' has {other.classes}: "
                "analyze runs with the same class list together (use the filters)."
            )
        if any(key in other.template and key in first.template and other.template[key] != first.template[key] for key in TEMPLATE_KEYS):
            raise UserError(f"'{first.origin}' uses template {first.template} but '{other.origin}' uses {other.template}: analyze one template at a time.")
        if other.heatmaps.shape != first.heatmaps.shape:
            shapes = f"{first.heatmaps.shape} but '{other.origin}' {other.heatmaps.shape}"
            raise UserError(f"'{first.origin}' holds heatmaps {shapes}: analyze one template at a time.")


def cluster_method(pooled: list[HeatmapSet], min_count: int) -> dict[str, Clustering]:
    """Per class: the clustering of the pooled heatmaps (gray / 255) of the networks that do
    not miss that class; the others are listed as excluded."""
    grays = [s.gray() for s in pooled]  # N x uint8 [C, H, W]
    missing = [s.missing(min_count) for s in pooled]
    clusterings = {}
    for c, expression in enumerate(pooled[0].classes):
        present = [i for i in range(len(pooled)) if not missing[i][c]]
        maps = np.array([grays[i][c] for i in present], np.float64) / 255  # [N, H, W]
        excluded = [s.network for s, lacks in zip(pooled, missing, strict=True) if lacks[c]]
        clusterings[expression] = cluster_maps([pooled[i].network for i in present], maps, excluded)
    return clusterings


def analyze_collection(collection: Collection, families: dict[str, MaskFamily], threshold: Threshold, progress: bool = True, min_count: int = 1) -> Analysis:
    """Pool folds, score every set against every family, cluster each method's pooled
    heatmaps per expression; class heatmaps on fewer than ``min_count`` images are missing."""
    if min_count < 1:
        raise UserError(f"min_count={min_count} would score heatmaps made of no image: give min_count=1 or more.")
    check_compatible(collection.sets)
    sets = pool_folds(collection.sets, min_count)
    scores, matrices = score_sets(sets, families, threshold, min_count, progress)
    methods = dict.fromkeys(s.method for s in sets)
    clusterings = {method: cluster_method([s for s in sets if s.method == method and s.fold == POOLED], min_count) for method in methods}
    return Analysis(sets, scores, clusterings, families, threshold, list(collection.skipped), len(collection.sets), min_count, matrices)
