"""Integrated Gradients (Sundararajan et al. 2017), captum."""

from __future__ import annotations

import torch
from captum.attr import IntegratedGradients as CaptumIntegratedGradients
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.base import Explainer


@register_explainer("ig")
class IntegratedGradients(Explainer):
    """Integrated Gradients of the target logit along the straight path from a uniform
    ``baseline`` image (a raw pixel value in [0, 1]: 0 = black, whatever the network's
    normalization) to the image, ``steps`` Gauss-Legendre points, ``internal_batch_size``
    images per forward pass. Map: channel sum of the attributions, positive part."""

    def __init__(self, steps: int = 32, baseline: float = 0.0, internal_batch_size: int = 64) -> None:
        self.steps = steps
        self.baseline = baseline
        self.internal_batch_size = internal_batch_size

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        attributions = CaptumIntegratedGradients(model).attribute(
            images, baselines=self.baseline, target=targets.tolist(), n_steps=self.steps, internal_batch_size=self.internal_batch_size
        )
        return attributions.sum(dim=1).clamp(min=0)
