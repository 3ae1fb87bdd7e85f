"""Per-class sums of the faithfulness scores, summed across DDP ranks by torchmetrics."""

from __future__ import annotations

import torch
from torchmetrics import Metric

from ferlens.evaluation.faithfulness.curves import DeletionInsertion, RoadScores

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
    "normalised_deletion_auc": "",
    "normalised_insertion_auc": "",
    "normalised_road_morf": "fractions",
    "normalised_road_lerf": "fractions",
    "normalised_road_combined": "",
}
#: the scores divided by each image's unperturbed target probability, averaged over the images where it is above 0
_NORMALISED = tuple(name for name in _SUMS if name.startswith("normalised_"))


class FaithfulnessAccumulator(Metric):
    """Accumulates deletion / insertion curves (``steps`` + 1 points) and ROAD scores
    (``num_fractions`` fractions) per class. ``compute()`` gives ``{"per_class": ...,
    "overall": ...}`` with the means over the samples of each class ([C, ...]) and of all
    samples: ``deletion`` / ``insertion`` curves, ``deletion_auc`` / ``insertion_auc``,
    ``road_morf`` / ``road_lerf`` (target probability per fraction), ``road_morf_accuracy`` /
    ``road_lerf_accuracy`` (share still predicting the target), ``road_combined``, the sample
    ``counts``; the ``normalised_`` AUCs and ROAD scores (each image's score divided by its
    unperturbed target probability, ``evaluation.faithfulness.curves``) over the ``normalised_counts``
    images whose unperturbed probability is above 0; NaN for a class without samples. Sums are
    float64, so the result does not depend on how samples are split over ranks."""

    full_state_update = False

    def __init__(self, num_classes: int, steps: int, num_fractions: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.sizes = {"steps": (steps + 1,), "fractions": (num_fractions,), "": ()}
        for name, size in _SUMS.items():
            self.add_state(f"{name}_sums", torch.zeros(num_classes, *self.sizes[size], dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("normalised_counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")

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
            "normalised_deletion_auc": curves.normalised_deletion_auc,
            "normalised_insertion_auc": curves.normalised_insertion_auc,
            "normalised_road_morf": road.normalised_morf,
            "normalised_road_lerf": road.normalised_lerf,
            "normalised_road_combined": road.normalised_combined,
        }
        classes = classes.to(self.counts.device).long()
        normalisable = ((curves.original > 0) & (road.original > 0)).to(self.counts.device)  # [B]
        for name, value in values.items():
            expected = (len(classes), *self.sizes[_SUMS[name]])
            if tuple(value.shape) != expected:
                raise ValueError(f"FaithfulnessAccumulator expects {name} of shape {expected}, got {tuple(value.shape)}")
            value = value.to(self.counts.device).double()
            if name in _NORMALISED:
                value = torch.where(normalisable.view(-1, *[1] * (value.dim() - 1)), value, torch.zeros_like(value))
            getattr(self, f"{name}_sums").index_add_(0, classes, value)
        self.counts += torch.bincount(classes, minlength=self.num_classes)
        self.normalised_counts += torch.bincount(classes[normalisable], minlength=self.num_classes)

    def compute(self) -> dict[str, dict[str, torch.Tensor]]:
        per_class: dict[str, torch.Tensor] = {"counts": self.counts.clone(), "normalised_counts": self.normalised_counts.clone()}
        overall: dict[str, torch.Tensor] = {"counts": self.counts.sum(), "normalised_counts": self.normalised_counts.sum()}
        for name in _SUMS:
            sums = getattr(self, f"{name}_sums")
            images = self.normalised_counts if name in _NORMALISED else self.counts
            counts, total = images.view(-1, *[1] * (sums.dim() - 1)), images.sum()
            per_class[name] = torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, float("nan")))
            overall[name] = sums.sum(dim=0) / total if total > 0 else torch.full_like(sums[0], float("nan"))
        return {"per_class": per_class, "overall": overall}
