"""Shared pieces of the class-activation explainers (Grad-CAM, Grad-CAM++, LayerCAM, layer
attention): the network's ``cam_layer`` activations and the gradients of the target logits
there, and the bilinear upsampling of a map on that layer's grid to image pixels."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.networks.features import capture_features
from ferlens.saliency.base import Explainer


def activations_and_gradients(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, dS/dA), both [B, C, h, w]: the ``cam_layer`` activations and the gradients there of
    S = the sum over the batch of each image's target logit (so image b's own logit)."""
    with capture_features(model) as captured:
        scores = model(images).gather(1, targets[:, None]).sum()
    activations = captured["features"]
    (gradients,) = torch.autograd.grad(scores, activations)
    return activations.detach(), gradients


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[B, h, w] -> [B, H, W] (``size`` = (H, W) image pixels), bilinear, half-pixel centres."""
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


class ClassActivationMap(Explainer):
    """Base of the gradient CAMs: ``combine(A, dS/dA)`` on the ``cam_layer`` grid, ReLU,
    bilinear upsampling to the image."""

    def combine(self, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """[B, C, h, w] activations and gradients -> [B, h, w] map before the final ReLU."""
        raise NotImplementedError

    def layer_maps(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """[B, h, w] non-negative maps on the ``cam_layer`` grid (one value per feature-map
        cell); needs gradients enabled, as ``__call__`` provides."""
        return F.relu(self.combine(*activations_and_gradients(model, images, targets)))

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return upsample(self.layer_maps(model, images, targets), images.shape[-2:])
