"""Element-wise Grad-CAM (pytorch-grad-cam's GradCAMElementWise, after Draelos & Carin 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap


@register_explainer("gradcam_elementwise")
class GradCAMElementWise(ClassActivationMap):
    """sum_c relu(g_c,ij A_c,ij), g = dS/dA (S the target logit): HiResCAM with the ReLU
    taken per channel before the sum."""

    def combine(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return F.relu(gradients * activations).sum(dim=1)
