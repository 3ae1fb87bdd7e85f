"""Input-attribution explainers (captum): Integrated Gradients and Occlusion. Maps are the
channel sum of the attributions, positive part (evidence for the target class)."""

from __future__ import annotations

import torch
from captum.attr import IntegratedGradients as CaptumIG
from captum.attr import Occlusion as CaptumOcclusion
from torch import nn

from saliency.base import Explainer


class IntegratedGradients(Explainer):
    """Integrated Gradients from a black image (``baseline`` in input units) over ``steps``
    points, ``internal_batch_size`` images per forward pass."""

    name = "ig"

    def __init__(self, steps: int = 32, baseline: float = 0.0, internal_batch_size: int = 64) -> None:
        self.steps = steps
        self.baseline = baseline
        self.internal_batch_size = internal_batch_size

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        attributions = CaptumIG(model).attribute(
            images, baselines=self.baseline, target=targets.tolist(), n_steps=self.steps, internal_batch_size=self.internal_batch_size
        )
        return attributions.sum(dim=1).clamp(min=0)


class Occlusion(Explainer):
    """Occlusion: the drop of the target score when a ``window`` x ``window`` patch (as a
    fraction of the image side) is set to ``baseline``, sliding by ``stride`` (same units)."""

    name = "occlusion"

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
