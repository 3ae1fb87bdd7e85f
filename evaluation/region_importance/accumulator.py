"""Per-image region-importance evidence, gathered across DDP ranks by torchmetrics."""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from ferlens.evaluation.region_importance.intervention import RegionImportance

#: the per-image states besides the identity ones, as ``RegionImportance`` attributes
_SCORES = ("original", "original_logit", "probability", "logit", "control_probability", "control_logit", "area")
_IDENTITY = ("index", "target", "label", "prediction")


class RegionImportanceAccumulator(Metric):
    """Keeps every explained image's interventions (``evaluation.region_importance.intervention``) with its
    source index, target, true and predicted class, for R regions and D control draws. The
    states are concatenated across ranks (each image is intervened on on exactly one rank;
    a rank with no image makes one empty update so that every rank's states have the same
    shape); ``compute()`` gives ``{name: tensor}`` sorted by source index: ``index``,
    ``target``, ``label``, ``prediction`` [N] and the ``RegionImportance`` scores
    (``original`` [N], ``probability`` [N, R], ``control_probability`` [N, R, D], ...)."""

    full_state_update = False

    def __init__(self, regions: int, draws: int) -> None:
        super().__init__()
        self.regions, self.draws = regions, draws
        for name in (*_IDENTITY, *_SCORES):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, scores: RegionImportance, index: torch.Tensor, target: torch.Tensor, label: torch.Tensor, prediction: torch.Tensor) -> None:
        """The interventions of B images and their [B] identities."""
        if scores.probability.shape[1:] != (self.regions,) or scores.control_probability.shape[1:] != (self.regions, self.draws):
            raise ValueError(
                f"RegionImportanceAccumulator was made for {self.regions} regions and {self.draws} draws, got {tuple(scores.control_probability.shape)}"
            )
        for name, values in zip(_IDENTITY, (index, target, label, prediction), strict=True):
            getattr(self, name).append(values.to(self.device).long())
        for name in _SCORES:
            getattr(self, name).append(getattr(scores, name).to(self.device).double())

    def compute(self) -> dict[str, torch.Tensor]:
        index = dim_zero_cat(self.index).reshape(-1)
        order = torch.argsort(index, stable=True)
        result = {"index": index[order]}
        shapes = {"probability": (self.regions,), "logit": (self.regions,), "area": (self.regions,), "control_probability": (self.regions, self.draws)}
        shapes["control_logit"] = shapes["control_probability"]
        for name in (*_IDENTITY[1:], *_SCORES):
            result[name] = dim_zero_cat(getattr(self, name)).reshape(-1, *shapes.get(name, ()))[order]
        return result
