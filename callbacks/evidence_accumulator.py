"""Per-image evidence of a heatmap pass, gathered across DDP ranks by torchmetrics."""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from ferlens.formats.evidence import EVIDENCE_HEIGHT, EVIDENCE_WIDTH, pool_to_evidence


class ImageEvidenceAccumulator(Metric):
    """Keeps every valid explained image's warped map pooled to the evidence grid
    ([B, 275, 224] -> float32 [B, 55, 56]) with its source index, target, true and predicted
    class. The states are concatenated across ranks (each image is explained on exactly one
    rank, so each appears once; a rank with no image makes one empty update so that every
    rank's states have the same shape); ``compute()`` gives them sorted by source index:
    (maps [N, 55, 56], index [N], target [N], label [N], prediction [N])."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in ("maps", "index", "target", "label", "prediction"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, maps: torch.Tensor, index: torch.Tensor, target: torch.Tensor, label: torch.Tensor, prediction: torch.Tensor, valid: torch.Tensor) -> None:
        """``maps`` [B, 275, 224] in template pixels; the others [B]; ``valid`` [B] bool (False: left out, as in the heatmaps)."""
        keep = valid.to(maps.device).bool()
        self.maps.append(pool_to_evidence(maps[keep].float()))
        for name, values in (("index", index), ("target", target), ("label", label), ("prediction", prediction)):
            getattr(self, name).append(values.to(maps.device)[keep].long())

    def compute(self) -> tuple[torch.Tensor, ...]:
        if isinstance(self.index, list) and not self.index:  # no update on any rank
            empty = torch.zeros(0, dtype=torch.long, device=self.device)
            return torch.zeros(0, EVIDENCE_HEIGHT, EVIDENCE_WIDTH, device=self.device), empty, empty, empty, empty
        index = dim_zero_cat(self.index)
        order = torch.argsort(index, stable=True)
        return (dim_zero_cat(self.maps)[order], index[order], *(dim_zero_cat(getattr(self, name))[order] for name in ("target", "label", "prediction")))
