"""Eigen-Grad-CAM (pytorch-grad-cam, after Muhammad & Yeasin 2020)."""

from __future__ import annotations

import torch

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap, principal_projection


@register_explainer("eigengradcam")
class EigenGradCAM(ClassActivationMap):
    """ReLU of g * A (g = dS/dA, S the target logit) projected on its first principal
    component; the sign as ``eigencam``'s (largest-magnitude value positive)."""

    def combine(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return principal_projection(gradients * activations)
