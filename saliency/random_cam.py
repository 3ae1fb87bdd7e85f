"""Random CAM: the sanity baseline of pytorch-grad-cam (random channel weights)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap, layer_activations


@register_explainer("random_cam")
class RandomCAM(ClassActivationMap):
    """ReLU(sum_c w_c A_c) with w [B, C] drawn uniform in [-1, 1] by
    ``numpy.random.RandomState(seed)`` (class-agnostic: ``targets`` are not used; an image's
    weights depend on its place in the batch)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def layer_maps(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        activations = layer_activations(model, images)
        drawn = np.random.RandomState(self.seed).uniform(-1, 1, size=activations.shape[:2])
        weights = torch.from_numpy(drawn).to(activations)
        return (weights[..., None, None] * activations).sum(dim=1).clamp(min=0)
