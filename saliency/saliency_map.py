"""Saliency: the plain gradient (Simonyan et al. 2014), captum."""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import Attribution, Saliency
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.gradients import InputAttribution


@register_explainer("saliency")
class GradientSaliency(InputAttribution):
    """max over the colour channels of |dS/dx| (S the target logit, x the raw image), as the paper."""

    def attribution(self, model: nn.Module) -> Attribution:
        return Saliency(model)

    def arguments(self, images: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        return {"target": targets.tolist(), "abs": True}

    def reduce(self, attributions: torch.Tensor) -> torch.Tensor:
        return attributions.abs().amax(dim=1)
