"""Reading a network's ``cam_layer`` (or any named layer) during the forward pass."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def capture_features(net: nn.Module, layer: str | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, ``captured["features"]`` is the output of ``layer`` (default:
    ``net.cam_layer``) in the latest forward pass: [B, C, h, w], still in the autograd
    graph (usable in a loss, e.g. AU guidance, or for Grad-CAM)."""
    captured: dict[str, torch.Tensor] = {}
    module = net.get_submodule(layer or net.cam_layer)

    def keep(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        captured["features"] = output

    handle = module.register_forward_hook(keep)
    try:
        yield captured
    finally:
        handle.remove()
