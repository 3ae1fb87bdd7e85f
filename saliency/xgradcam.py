"""XGrad-CAM (Fu et al. 2020)."""

from __future__ import annotations

import torch

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap

#: Added to each channel's activation sum, as pytorch-grad-cam does.
EPSILON = 1e-7


@register_explainer("xgradcam")
class XGradCAM(ClassActivationMap):
    """ReLU(sum_c w_c A_c), w_c = sum_ij g_c,ij A_c,ij / (sum_ij A_c,ij + EPSILON), g = dS/dA
    (S the target logit)."""

    def combine(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        totals = activations.sum(dim=(2, 3), keepdim=True)
        weights = (gradients * activations / (totals + EPSILON)).sum(dim=(2, 3), keepdim=True)
        return (weights * activations).sum(dim=1)
