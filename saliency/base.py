"""The one explainer interface: ``explain(model, images, targets) -> [B, H, W]`` float maps
in image pixels, larger = more evidence for the target class."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


class Explainer:
    """Base class. ``images`` [B, 3, H, W] are the network's (normalised) inputs, ``targets``
    [B] class indices; the model's train/eval mode is restored afterwards."""

    name = "explainer"

    def __call__(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with gradients_enabled(model):
            maps = self.explain(model, images.detach().clone(), targets.detach().clone())
        return maps.detach()

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
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
