"""GradientSHAP (Lundberg & Lee 2017, expected gradients), captum."""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import Attribution, GradientShap
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.gradients import InputAttribution, seeded


@register_explainer("gradientshap")
class GradientSHAP(InputAttribution):
    """The expectation of dS/dx at x' + noise times (x - b) over ``samples`` random draws of a
    baseline b among uniform images of raw values ``baselines`` (0 = black), a point x' on the
    straight path from b to x and Gaussian noise of standard deviation ``stdev`` (raw pixels),
    drawn from ``seed``. ``batch_size``: samples per forward pass (images are explained
    ``batch_size // samples`` at a time, at least one; a batch split so draws differently from
    one captum call over it, equal in expectation). Signed: map = channel sum, positive part."""

    def __init__(self, baselines: tuple[float, ...] = (0.0, 1.0), samples: int = 16, stdev: float = 0.0, batch_size: int = 64, seed: int = 0) -> None:
        self.baselines = baselines
        self.samples = samples
        self.stdev = stdev
        self.batch_size = batch_size
        self.seed = seed

    def attribution(self, model: nn.Module) -> Attribution:
        return GradientShap(model)

    def arguments(self, images: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        references = torch.tensor(list(self.baselines), dtype=images.dtype, device=images.device)[:, None, None, None]
        return {"baselines": references.expand(-1, *images.shape[1:]), "target": targets.tolist(), "n_samples": self.samples, "stdevs": self.stdev}

    def input_attributions(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        step = max(1, self.batch_size // self.samples)
        with seeded(self.seed):
            return torch.cat(
                [super(GradientSHAP, self).input_attributions(model, images[s : s + step], targets[s : s + step]) for s in range(0, len(images), step)]
            )
