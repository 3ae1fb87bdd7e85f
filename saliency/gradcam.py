"""Grad-CAM (Selvaraju et al. 2017)."""

from __future__ import annotations

import torch

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap


@register_explainer("gradcam")
class GradCAM(ClassActivationMap):
    """ReLU(sum_c w_c A_c), w_c = the spatial mean of dS/dA_c (S the target logit)."""

    def combine(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return (gradients.mean(dim=(2, 3), keepdim=True) * activations).sum(dim=1)
