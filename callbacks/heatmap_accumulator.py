"""Per-class sums of template-space heatmaps, summed across DDP ranks by torchmetrics."""

from __future__ import annotations

import torch
from torchmetrics import Metric

from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH


class GlobalHeatmapAccumulator(Metric):
    """Accumulates warped maps [B, 275, 224] per class; ``compute()`` gives the per-class
    means [C, 275, 224] (float32, 0 for a class with no sample), the counts [C] and, per
    class, how many of the maps were zero everywhere [C] (the method found no positive
    evidence in that image). Samples marked invalid (no landmarks) are left out. Sums are
    float64 so that the result does not depend on how samples are split over ranks."""

    full_state_update = False

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.add_state("sums", torch.zeros(num_classes, TEMPLATE_HEIGHT, TEMPLATE_WIDTH, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("zero_maps", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, maps: torch.Tensor, classes: torch.Tensor, valid: torch.Tensor) -> None:
        """``maps`` [B, 275, 224], ``classes`` [B] class index, ``valid`` [B] bool (False: left out)."""
        valid = valid.to(self.sums.device).bool()
        classes = classes.to(self.sums.device)[valid]
        maps = maps.to(self.sums.device)[valid]
        self.sums.index_add_(0, classes, maps.double())
        self.counts += torch.bincount(classes, minlength=self.num_classes)
        self.zero_maps += torch.bincount(classes[maps.flatten(1).amax(dim=1) <= 0], minlength=self.num_classes)

    def compute(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        means = self.sums / self.counts.clamp(min=1).view(-1, 1, 1)
        return means.float(), self.counts.clone(), self.zero_maps.clone()
