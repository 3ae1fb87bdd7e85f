"""The one explainer interface: ``explain(model, images, targets) -> [B, H, W]`` float maps
in image pixels, larger = more evidence for the target class."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import ClassVar

import torch
from torch import nn


class Explainer:
    """Base class. ``images`` [B, 3, H, W] are raw RGB in [0, 1] (every network normalises
    its input itself, so black is 0 whatever its normalization), ``targets`` [B] class
    indices; the model's train/eval mode is restored afterwards. ``name`` is set by
    ``saliency.register_explainer``; the constructor's arguments are kept as attributes
    (``vars(explainer)`` are the method's parameters)."""

    name: ClassVar[str]

    def __call__(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with gradients_enabled(model):
            maps = self.explain(model, images.detach().clone(), targets.detach().clone())
        return maps.detach()

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """[B, H, W] non-negative maps in image pixels (the model is in eval mode, gradients on)."""
        raise NotImplementedError


@contextlib.contextmanager
def gradients_enabled(model: nn.Module) -> Iterator[None]:
    """Gradients on whatever the caller's mode (Lightning validates under
    ``torch.inference_mode``), the model in eval mode, its previous mode restored after."""
    training = model.training
    model.eval()
    try:
        with torch.inference_mode(False), torch.enable_grad():
            yield
    finally:
        model.train(training)
