"""Occlusion (Zeiler & Fergus 2014), captum."""

from __future__ import annotations

import torch
from captum.attr import Occlusion as CaptumOcclusion
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.base import Explainer


@register_explainer("occlusion")
class Occlusion(Explainer):
    """The drop of the target logit when a square patch of all three channels is set to
    ``baseline`` (a raw pixel value in [0, 1]: 0 = black, whatever the network's
    normalization), averaged over the patches covering each pixel. ``window`` and ``stride``
    are fractions of the image side (at least 1 pixel); ``perturbations_per_eval`` patched
    images per forward pass. Map: channel sum, positive part."""

    def __init__(self, window: float = 0.125, stride: float = 0.0625, baseline: float = 0.0, perturbations_per_eval: int = 32) -> None:
        self.window = window
        self.stride = stride
        self.baseline = baseline
        self.perturbations_per_eval = perturbations_per_eval

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        side = images.shape[-1]
        window, stride = max(1, round(self.window * side)), max(1, round(self.stride * side))
        attributions = CaptumOcclusion(model).attribute(
            images,
            sliding_window_shapes=(images.shape[1], window, window),
            strides=(images.shape[1], stride, stride),
            baselines=self.baseline,
            target=targets.tolist(),
            perturbations_per_eval=self.perturbations_per_eval,
        )
        return attributions.sum(dim=1).clamp(min=0)
