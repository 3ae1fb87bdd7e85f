"""HiResCAM (Draelos & Carin 2020)."""

from __future__ import annotations

import torch

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap


@register_explainer("hirescam")
class HiResCAM(ClassActivationMap):
    """ReLU(sum_c g_c,ij A_c,ij), g = dS/dA (S the target logit): Grad-CAM without the spatial
    averaging of the gradients."""

    def combine(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return (gradients * activations).sum(dim=1)
