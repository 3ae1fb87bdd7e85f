"""Loading network weights from local files (safetensors, .pth, Lightning .ckpt)."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from ferlens.user_errors import UserError


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors``, ``.pth``/``.pt`` or Lightning ``.ckpt`` file, read safely
    (``weights_only``: no code of the file runs). A checkpoint of ``FERModule`` is unwrapped to
    its network (``net.`` prefix removed)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"Weights file '{path}' does not exist: set model.net.weights to a local .safetensors, .pth or .ckpt file.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        if isinstance(error, pickle.UnpicklingError) and "Unsupported global" in str(error):
            raise UserError(
                f"Weights file '{path}' holds Python objects, which are not loaded for safety: save only its tensors, torch.save(model.state_dict(), path)."
            ) from error
        raise UserError(
            f"Weights file '{path}' could not be read ({type(error).__name__}): check that it is a complete safetensors or PyTorch file."
        ) from error
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"Weights file '{path}' holds no state dict of tensors: save one with torch.save(model.state_dict(), path).")
    if any(k.startswith("net.") for k in state):
        state = {k[len("net.") :]: v for k, v in state.items() if k.startswith("net.")}
    return state


def load_into(module: nn.Module, state: dict[str, torch.Tensor], path: str | Path, skip_prefixes: tuple[str, ...] = ()) -> None:
    """Load ``state`` into ``module``; every parameter outside ``skip_prefixes`` (e.g. a
    classifier sized for other classes) must be present with its shape."""
    own = module.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    needed = [k for k in own if not k.startswith(skip_prefixes)]
    missing = [k for k in needed if k not in usable]
    if missing:
        raise UserError(
            f"Weights file '{path}' does not fit this network ({len(missing)} of {len(needed)} tensors missing or of another shape, e.g. '{missing[0]}'): "
            "use weights saved from the same architecture."
        )
    module.load_state_dict(usable, strict=False)


def load_weights(net: nn.Module, name: str, pretrained: bool, weights: str | None, head: str = "classifier") -> nn.Module:
    """For networks trained from scratch in the study: refuse ``pretrained``, load ``weights``
    (all but the ``head`` layers, which may be sized for other classes)."""
    if pretrained:
        raise UserError(
            f"{name} has no ImageNet weights (the study trains it from scratch): set model.net.pretrained=false, or model.net.weights=PATH for your own."
        )
    if weights:
        state = read_state_dict(weights)
        head_keys = tuple(k for k in net.state_dict() if k.startswith(head))
        load_into(net, {k: v for k, v in state.items() if k not in head_keys or v.shape == net.state_dict()[k].shape}, weights, skip_prefixes=(head,))
    return net
