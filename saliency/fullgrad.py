"""FullGrad (Srinivas & Fleuret 2019), as pytorch-grad-cam computes it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.base import Explainer
from ferlens.saliency.cam import min_max_scaled


def bias_layers(model: nn.Module) -> list[nn.Module]:
    """The ``nn.Conv2d`` and ``nn.BatchNorm2d`` modules with a bias (exactly those types, as
    pytorch-grad-cam: timm's fused ``BatchNormAct2d`` is not one, its output being past the activation)."""
    return [module for module in model.modules() if type(module) in (nn.Conv2d, nn.BatchNorm2d) and module.bias is not None]


def effective_bias(layer: nn.Module) -> torch.Tensor:
    """[C] bias of a convolution, or of a batch norm in eval mode: beta - mean gamma / sqrt(var + eps)."""
    if isinstance(layer, nn.BatchNorm2d):
        return layer.bias - layer.running_mean * layer.weight / torch.sqrt(layer.running_var + layer.eps)
    return layer.bias


@register_explainer("fullgrad")
class FullGrad(Explainer):
    """sum over channels of psi(|x dS/dx|) + sum over bias layers l and their channels of
    psi(|b_l dS/dz_l|) upsampled bilinear to the image, with S the target logit, z_l the layer's
    output, b_l its (effective) bias and psi the min-max scaling of each map to [0, 1]
    (``cam.min_max_scaled``, per image and channel, as pytorch-grad-cam). Non-negative, unscaled
    (pytorch-grad-cam min-max scales the sum). Uses every bias layer, not ``cam_layer``."""

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        layers = bias_layers(model)
        outputs: list[tuple[nn.Module, torch.Tensor]] = []  # in execution order

        def keep(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            outputs.append((module, output))
            return output.clone()  # an in-place activation after the layer changes the clone, not z_l

        handles = [layer.register_forward_hook(keep) for layer in layers]
        try:
            images.requires_grad_(True)
            score = model(images).gather(1, targets[:, None]).sum()
        finally:
            for handle in handles:
                handle.remove()
        gradients = torch.autograd.grad(score, [images, *(output for _, output in outputs)])
        total = min_max_scaled((images * gradients[0]).abs()).sum(dim=1)
        for (layer, _), gradient in zip(outputs, gradients[1:], strict=True):
            bias = effective_bias(layer).detach()[None, :, None, None]
            scaled = min_max_scaled((bias * gradient).abs())
            total = total + F.interpolate(scaled, size=images.shape[-2:], mode="bilinear", align_corners=False).sum(dim=1)
        return total.detach()
