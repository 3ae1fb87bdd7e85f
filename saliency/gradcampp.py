"""Grad-CAM++ (Chattopadhay et al. 2018)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap

#: Added to the denominator of alpha, as pytorch-grad-cam does: alpha = 0 where g = 0 (no
#: 0/0). Not scale-free: it weighs as much as 2 g^2 for gradients g ~ 7e-4.
EPSILON = 1e-6


@register_explainer("gradcampp")
class GradCAMPlusPlus(ClassActivationMap):
    """ReLU(sum_c w_c A_c) with w_c = sum_ij alpha_c,ij relu(g_c,ij), g = dS/dA (S the target
    logit) and, from the paper's eq. 19 with the higher derivatives of exp(S) written as
    powers of g, alpha_c,ij = g_c,ij^2 / (2 g_c,ij^2 + (sum_ab A_c,ab) g_c,ij^3 + EPSILON)."""

    def combine(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        squared = gradients**2
        totals = activations.sum(dim=(2, 3), keepdim=True)  # sum_ab A_c,ab, [B, C, 1, 1]
        alpha = squared / (2 * squared + totals * squared * gradients + EPSILON)
        weights = (alpha * F.relu(gradients)).sum(dim=(2, 3), keepdim=True)
        return (weights * activations).sum(dim=1)
