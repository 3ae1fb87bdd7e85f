"""Shared pieces of the class-activation explainers (Grad-CAM, Grad-CAM++, LayerCAM, layer
attention): the network's ``cam_layer`` activations and the gradients of the target logits
there, and the bilinear upsampling of a map on that layer's grid to image pixels."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.networks.features import capture_features
from ferlens.saliency.base import Explainer
from ferlens.user_errors import UserError


def activations_and_gradients(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, dS/dA), both [B, C, h, w]: the ``cam_layer`` activations and the gradients there of
    S = the sum over the batch of each image's target logit (so image b's own logit)."""
    with capture_features(model) as captured:
        scores = model(images).gather(1, targets[:, None]).sum()
    activations = captured["features"]
    if activations.ndim != 4:
        raise UserError(
            f"The cam_layer {model.cam_layer} of {type(model).__name__} yields {list(activations.shape)}, not a [B, C, h, w] grid: name a layer that "
            "yields one, or for tokens [B, N, C] wrap the model with ferlens.wrap_network(model, num_classes, cam_layer, cam_prefix_tokens=<class tokens>)."
        )
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


def layer_activations(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """[B, C, h, w] ``cam_layer`` activations, without gradients."""
    with torch.no_grad(), capture_features(model) as captured:
        model(images)
    return captured["features"].detach()


def principal_projection(maps: torch.Tensor) -> torch.Tensor:
    """[B, C, h, w] -> [B, h, w]: each image's cells (C-vectors, centred over the cells)
    projected on their first principal direction (SVD, float64), the sign chosen so the largest
    value has the largest magnitude (Chung & Ying 2025, eq. 13: the SVD's sign is arbitrary)."""
    cells = maps.flatten(2).transpose(1, 2).double()  # [B, hw, C]
    cells = cells - cells.mean(dim=1, keepdim=True)
    _, _, vh = torch.linalg.svd(cells, full_matrices=False)
    projection = (cells @ vh[:, 0, :, None])[..., 0]  # [B, hw]
    flip = projection.amin(dim=1).abs() > projection.amax(dim=1).abs()
    projection = torch.where(flip[:, None], -projection, projection)
    return projection.view(maps.shape[0], *maps.shape[2:]).to(maps.dtype)


def min_max_scaled(maps: torch.Tensor, epsilon: float = 1e-7) -> torch.Tensor:
    """Each [h, w] map of ``maps`` [..., h, w] shifted to minimum 0 and divided by
    (``epsilon`` + its maximum), as pytorch-grad-cam's ``scale_cam_image``."""
    shifted = maps - maps.amin(dim=(-2, -1), keepdim=True)
    return shifted / (epsilon + shifted.amax(dim=(-2, -1), keepdim=True))


def target_scores(model: nn.Module, images: torch.Tensor, target: int, batch_size: int) -> torch.Tensor:
    """[N] target logits of ``images`` [N, 3, H, W], ``batch_size`` images per forward pass, without gradients."""
    with torch.no_grad():
        return torch.cat([model(images[start : start + batch_size])[:, target] for start in range(0, len(images), batch_size)])
