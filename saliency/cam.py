"""Class-activation explainers on a network's ``cam_layer`` ([B, C, h, w] feature map),
upsampled (bilinear) to the image: Grad-CAM (captum), Grad-CAM++ and layer attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from captum.attr import LayerGradCam
from torch import nn

from lightning_modules.networks.features import capture_features
from saliency.base import Explainer


def _upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[B, h, w] -> [B, H, W] bilinear."""
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


class GradCAM(Explainer):
    """ReLU(sum_c alpha_c A_c) with alpha_c the spatial mean of d score / d A_c (Selvaraju et al.)."""

    name = "gradcam"

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        layer = model.get_submodule(model.cam_layer)
        maps = LayerGradCam(model, layer).attribute(images, target=targets.tolist(), relu_attributions=True)
        return _upsample(maps[:, 0], images.shape[-2:])


class GradCAMPlusPlus(Explainer):
    """Grad-CAM++ (Chattopadhay et al.): pixel-wise weights alpha from the first three
    derivatives of exp(score), approximated as usual by powers of the gradient."""

    name = "gradcampp"

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with capture_features(model) as captured:
            scores = model(images).gather(1, targets[:, None]).sum()
        features = captured["features"]
        (gradients,) = torch.autograd.grad(scores, features)
        squared, cubed = gradients**2, gradients**3
        denominator = 2 * squared + (features * cubed).sum(dim=(2, 3), keepdim=True)
        alpha = squared / torch.where(denominator != 0, denominator, torch.ones_like(denominator))
        weights = (alpha * F.relu(gradients)).sum(dim=(2, 3), keepdim=True)
        return _upsample(F.relu((weights * features).sum(dim=1)), images.shape[-2:])


class LayerAttention(Explainer):
    """Study 2's layer attention: the channel mean of ``cam_layer`` (class-agnostic)."""

    name = "attention"

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), capture_features(model) as captured:
            model(images)
        return _upsample(captured["features"].mean(dim=1), images.shape[-2:])
