"""Integrated Gradients (Sundararajan et al. 2017), captum."""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import Attribution
from captum.attr import IntegratedGradients as CaptumIntegratedGradients
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.gradients import InputAttribution


@register_explainer("ig")
class IntegratedGradients(InputAttribution):
    """Integrated Gradients of the target logit along the straight path from a uniform
    ``baseline`` image (a raw pixel value in [0, 1]: 0 = black, whatever the network's
    normalization) to the image, ``steps`` Gauss-Legendre points, ``internal_batch_size``
    images per forward pass. Map: channel sum of the attributions, positive part."""

    def __init__(self, steps: int = 32, baseline: float = 0.0, internal_batch_size: int = 64) -> None:
        self.steps = steps
        self.baseline = baseline
        self.internal_batch_size = internal_batch_size

    def attribution(self, model: nn.Module) -> Attribution:
        return CaptumIntegratedGradients(model)

    def arguments(self, images: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        return {"baselines": self.baseline, "target": targets.tolist(), "n_steps": self.steps, "internal_batch_size": self.internal_batch_size}
