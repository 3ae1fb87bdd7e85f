"""Per-class sums of the faithfulness scores, summed across DDP ranks by torchmetrics."""

from __future__ import annotations

import torch
from torchmetrics import Metric

from ferlens.saliency.faithfulness import DeletionInsertion, RoadScores

#: state name -> trailing shape key ("steps": steps + 1 curve points, "fractions": ROAD fractions, "": one value)
_SUMS = {
    "deletion": "steps",
    "insertion": "steps",
    "deletion_auc": "",
    "insertion_auc": "",
    "road_morf": "fractions",
    "road_lerf": "fractions",
    "road_morf_accuracy": "fractions",
    "road_lerf_accuracy": "fractions",
    "road_combined": "",
}


class FaithfulnessAccumulator(Metric):
    """Accumulates deletion / insertion curves (``steps`` + 1 points) and ROAD scores
    (``num_fractions`` fractions) per class. ``compute()`` gives ``{"per_class": ...,
    "overall": ...}`` with the means over the samples of each class ([C, ...]) and of all
    samples: ``deletion`` / ``insertion`` curves, ``deletion_auc`` / ``insertion_auc``,
    ``road_morf`` / ``road_lerf`` (target probability per fraction), ``road_morf_accuracy`` /
    ``road_lerf_accuracy`` (share still predicting the target), ``road_combined``, and the sample
    ``counts``; NaN for a class without samples. Sums are float64, so the result does not
    depend on how samples are split over ranks."""

    full_state_update = False

    def __init__(self, num_classes: int, steps: int, num_fractions: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.sizes = {"steps": (steps + 1,), "fractions": (num_fractions,), "": ()}
        for name, size in _SUMS.items():
            self.add_state(f"{name}_sums", torch.zeros(num_classes, *self.sizes[size], dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, curves: DeletionInsertion, road: RoadScores, classes: torch.Tensor) -> None:
        """The scores of B images and their class indices ``classes`` [B]."""
        values = {
            "deletion": curves.deletion,
            "insertion": curves.insertion,
            "deletion_auc": curves.deletion_auc,
            "insertion_auc": curves.insertion_auc,
            "road_morf": road.morf,
            "road_lerf": road.lerf,
            "road_morf_accuracy": road.morf_kept,
            "road_lerf_accuracy": road.lerf_kept,
            "road_combined": road.combined,
        }
        classes = classes.to(self.counts.device).long()
        for name, value in values.items():
            expected = (len(classes), *self.sizes[_SUMS[name]])
            if tuple(value.shape) != expected:
                raise ValueError(f"FaithfulnessAccumulator expects {name} of shape {expected}, got {tuple(value.shape)}")
            getattr(self, f"{name}_sums").index_add_(0, classes, value.to(self.counts.device).double())
        self.counts += torch.bincount(classes, minlength=self.num_classes)

    def compute(self) -> dict[str, dict[str, torch.Tensor]]:
        per_class: dict[str, torch.Tensor] = {"counts": self.counts.clone()}
        overall: dict[str, torch.Tensor] = {"counts": self.counts.sum()}
        total = self.counts.sum()
        for name in _SUMS:
            sums = getattr(self, f"{name}_sums")
            counts = self.counts.view(-1, *[1] * (sums.dim() - 1))
            per_class[name] = torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, float("nan")))
            overall[name] = sums.sum(dim=0) / total if total > 0 else torch.full_like(sums[0], float("nan"))
        return {"per_class": per_class, "overall": overall}
