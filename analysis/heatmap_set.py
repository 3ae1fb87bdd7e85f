"""One network's global heatmaps for one method (and fold), whatever source they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from ferlens.formats.evidence import ImageEvidence
from ferlens.formats.heatmap_artifact import stretch
from ferlens.formats.manifest import HeatmapManifest, RunInfo

POOLED = "pooled"  # the fold label of a heatmap set pooled over all folds
#: how ``pool_folds`` pooled a network's folds: their class means weighted by image counts
#: (the pooled mean of all images), or, for sources without counts (the study's per-fold
#: PNGs), an equal-weight mean of the folds' stretched images, which is not the study's own
#: pooled heatmap and is labelled as such in every table and figure
POOLING_BY_COUNTS = "mean of all the folds' images"
POOLING_EQUAL = "equal-weight mean of the per-fold stretched PNGs (not the study's pooled heatmap)"


@dataclass
class HeatmapSet:
    """Per-class global heatmaps of one (network, method, fold).

    heatmaps: float32 [C, H, W] in template pixels, the per-class mean saliency (unstretched
        when it comes from an artifact; the gray PNG / 255 when only PNGs exist).
    counts: images behind each class mean (None when the source does not say); a class
        with fewer than ``min_count`` images is missing (see ``missing``).
    fold: the fold number, or ``POOLED`` for a heatmap pooled over all folds.
    origin: where it came from (directory, file pattern or W&B artifact name), for messages.
    from_gray: the heatmaps are stored gray images / 255 (the study's PNG layout); they are
        scored as stored, not stretched again.
    manifest: the artifact's manifest (None for the study's PNG layout and pooled sets).
    started: when its run started (manifest ``run.started``), else when its artifact was
        written (directory mtime, W&B creation time), else None: ``source.latest`` keeps the newest.
    evidence: the per-image maps behind the class means (artifacts of ferlens 0.2.0 on; for
        a pooled set, its folds' images together), else None.
    pooling: for a pooled set, how its folds were combined (``POOLING_BY_COUNTS`` or
        ``POOLING_EQUAL``), None otherwise.
    evidence_folds: for a pooled set's evidence, the fold (as text) of each image [n]; None
        for a set of one fold (its images are all of ``fold``).
    folds_run: for a pooled set, its first fold's run (model, dataset, AU guidance ... are
        one network's), so that ``run`` names the network of a pooled set too.
    """

    network: str
    method: str
    fold: int | str
    classes: list[str]
    heatmaps: np.ndarray
    counts: list[int] | None = None
    pretrained: bool | None = None
    template: dict = field(default_factory=dict)
    origin: str = ""
    from_gray: bool = False
    manifest: HeatmapManifest | None = None
    started: datetime | None = None
    evidence: ImageEvidence | None = None
    pooling: str | None = None
    evidence_folds: np.ndarray | None = None
    folds_run: RunInfo | None = None

    def gray(self) -> np.ndarray:
        """uint8 [C, H, W]: the min-max stretched heatmaps the study scores and correlates."""
        if self.from_gray:
            return np.round(self.heatmaps * 255).astype(np.uint8)
        return np.stack([stretch(heatmap) for heatmap in self.heatmaps])

    def missing(self, min_count: int = 1) -> list[bool]:
        """Per class: True when it rests on fewer than ``min_count`` images (an empty class:
        its map is no heatmap, every score NaN). Never True when the source gives no counts."""
        if self.counts is None:
            return [False] * len(self.classes)
        return [count < min_count for count in self.counts]

    @property
    def run(self) -> RunInfo | None:
        """The manifest's run (model, dataset, seed, dir, started, W&B id ...; a pooled set: its
        first fold's); None without a manifest."""
        return self.folds_run if self.manifest is None else self.manifest.run

    @property
    def split(self) -> str | None:
        """The split its heatmaps explained (the manifest's ``selection.split``); None when not recorded."""
        return None if self.manifest is None else self.manifest.selection.split

    @property
    def key(self) -> tuple[str, str, str]:
        """(network, method, fold as text): unique within one analysis."""
        return self.network, self.method, str(self.fold)
