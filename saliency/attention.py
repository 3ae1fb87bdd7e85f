"""Layer attention of Study 2."""

from __future__ import annotations

import torch
from torch import nn

from ferlens.networks.features import capture_features
from ferlens.saliency import register_explainer
from ferlens.saliency.base import Explainer
from ferlens.saliency.cam import upsample


@register_explainer("attention")
class LayerAttention(Explainer):
    """The channel mean of ``cam_layer`` (class-agnostic: ``targets`` are not used),
    upsampled bilinear to the image; non-negative for post-ReLU layers, clamped at 0."""

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), capture_features(model) as captured:
            model(images)
        return upsample(captured["features"].mean(dim=1).clamp(min=0), images.shape[-2:])
