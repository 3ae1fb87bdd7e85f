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
    with capture_layers(net, {layer or net.cam_layer: "features"}) as captured:
        yield captured


@contextlib.contextmanager
def capture_layers(net: nn.Module, keys: dict[str, str]) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, ``captured[keys[name]]`` is the output of module ``name`` in the
    latest forward pass, still in the autograd graph."""
    captured: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for name, key in keys.items():

            def keep(_module: nn.Module, _inputs: tuple, output: torch.Tensor, key: str = key) -> None:
                captured[key] = output

            handles.append(net.get_submodule(name).register_forward_hook(keep))
        yield captured
    finally:
        for handle in handles:
            handle.remove()
