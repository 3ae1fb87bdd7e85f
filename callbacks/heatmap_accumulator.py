"""Per-class sums of template-space heatmaps, summed across DDP ranks by torchmetrics."""

from __future__ import annotations

import torch
from torchmetrics import Metric

from faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH


class GlobalHeatmapAccumulator(Metric):
    """Accumulates warped maps [B, 275, 224] per class; ``compute()`` gives the per-class
    means [C, 275, 224] (float32, 0 for a class with no sample), the counts [C] and the
    number of skipped samples (no landmarks). Sums are float64 so that the result does not
    depend on how samples are split over ranks."""

    full_state_update = False

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.add_state("sums", torch.zeros(num_classes, TEMPLATE_HEIGHT, TEMPLATE_WIDTH, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("skipped", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, maps: torch.Tensor, classes: torch.Tensor, valid: torch.Tensor) -> None:
        """``maps`` [B, 275, 224], ``classes`` [B] class index, ``valid`` [B] bool (False: skipped)."""
        valid = valid.to(self.sums.device).bool()
        classes = classes.to(self.sums.device)[valid]
        self.sums.index_add_(0, classes, maps.to(self.sums.device)[valid].double())
        self.counts += torch.bincount(classes, minlength=self.num_classes)
        self.skipped += (~valid).sum()

    def compute(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        means = self.sums / self.counts.clamp(min=1).view(-1, 1, 1)
        return means.float(), self.counts.clone(), self.skipped.clone()
