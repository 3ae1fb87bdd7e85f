"""Reading a network's ``cam_layer`` (or any named layer) during the forward pass."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from ferlens.user_errors import UserError


@contextlib.contextmanager
def capture_features(net: nn.Module, layer: str | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, ``captured["features"]`` is the output of ``layer`` (default:
    ``net.cam_layer``) in the latest forward pass: [B, C, h, w], still in the autograd
    graph (usable in a loss, e.g. AU guidance, or for Grad-CAM)."""
    if layer is None and not isinstance(getattr(net, "cam_layer", None), str):
        raise UserError(
            f"The model {type(net).__name__} has no cam_layer: set its attribute cam_layer to the name of the module whose [B, C, h, w] output "
            "the CAMs explain (e.g. model.cam_layer = 'layer4'), or train it with model=custom model.net.cam_layer=<layer>."
        )
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
