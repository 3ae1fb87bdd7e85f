"""LayerCAM (Jiang et al. 2021)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap


@register_explainer("layercam")
class LayerCAM(ClassActivationMap):
    """ReLU(sum_c relu(g_c,ij) A_c,ij): each activation weighted by its own positive gradient
    g = dS/dA (S the target logit)."""

    def combine(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return (F.relu(gradients) * activations).sum(dim=1)
