"""Per-class sums of the model-randomisation similarities, summed across DDP ranks by torchmetrics."""

from __future__ import annotations

import torch
from torchmetrics import Metric

from ferlens.evaluation.randomisation.mprt import MODES, RandomisationScores


class RandomisationAccumulator(Metric):
    """Accumulates ``evaluation.randomisation.mprt.RandomisationScores`` per class for a network with
    ``num_layers`` randomised layers. ``compute()`` gives ``{"per_class": ..., "overall": ...}``:
    for each mode (``cascading``, ``independent``) the mean Spearman and SSIM per depth
    (``<mode>_spearman``, ``<mode>_ssim``: [C, L] per class, [L] over all samples; NaN where no
    sample), the samples with an undefined Spearman (a constant map; left out of its mean,
    ``<mode>_undefined``, [C, L] / [L]) and the sample ``counts`` ([C] / scalar). Sums are
    float64, so the result does not depend on how samples are split over ranks."""

    full_state_update = False

    def __init__(self, num_classes: int, num_layers: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_layers = num_layers
        for mode in MODES:
            for name in ("spearman", "ssim"):
                self.add_state(f"{mode}_{name}_sums", torch.zeros(num_classes, num_layers, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{mode}_defined", torch.zeros(num_classes, num_layers, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, scores: RandomisationScores, classes: torch.Tensor) -> None:
        """``scores`` of B images with L = ``num_layers`` layers, ``classes`` [B] their class index."""
        if len(scores.layers) != self.num_layers:
            raise ValueError(f"RandomisationAccumulator was made for {self.num_layers} layers, the scores have {len(scores.layers)}")
        classes = classes.to(self.counts.device).long()
        self.counts += torch.bincount(classes, minlength=self.num_classes)
        for mode in MODES:
            rho = scores.spearman[mode].to(self.counts.device).T  # [B, L]
            defined = ~torch.isnan(rho)
            getattr(self, f"{mode}_spearman_sums").index_add_(0, classes, torch.where(defined, rho, torch.zeros_like(rho)))
            getattr(self, f"{mode}_defined").index_add_(0, classes, defined.long())
            getattr(self, f"{mode}_ssim_sums").index_add_(0, classes, scores.ssim[mode].to(self.counts.device).T.double())

    def compute(self) -> dict[str, dict[str, torch.Tensor]]:
        per_class: dict[str, torch.Tensor] = {"counts": self.counts.clone()}
        overall: dict[str, torch.Tensor] = {"counts": self.counts.sum()}
        for mode in MODES:
            rho, defined, index = (getattr(self, f"{mode}_{name}") for name in ("spearman_sums", "defined", "ssim_sums"))
            per_class[f"{mode}_spearman"] = _mean(rho, defined)
            per_class[f"{mode}_ssim"] = _mean(index, self.counts[:, None].expand_as(index))
            per_class[f"{mode}_undefined"] = self.counts[:, None] - defined
            overall[f"{mode}_spearman"] = _mean(rho.sum(dim=0), defined.sum(dim=0))
            overall[f"{mode}_ssim"] = _mean(index.sum(dim=0), self.counts.sum().expand(self.num_layers))
            overall[f"{mode}_undefined"] = self.counts.sum() - defined.sum(dim=0)
        return {"per_class": per_class, "overall": overall}


def _mean(sums: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """sums / counts, NaN where the count is 0."""
    return torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, float("nan")))
