"""A user's own network by ``_target_`` (``model=custom model.net._target_=my_lab.nets.PosterV2``).

The contract. The user's class (or any callable returning an ``nn.Module``), importable from
their own folder or package (``PYTHONPATH``), maps normalized RGB images [B, 3, S, S] to
logits [B, num_classes]. Optional: a ``num_classes`` constructor argument (ferlens passes the
data's class count to it); a ``data_config`` (ferlens' ``DataConfig``, or a mapping with
``input_size`` and ``mean``/``std``) or timm ``pretrained_cfg`` attribute giving the input size
and normalization (else ``model.input_size`` and ``model.normalization``, default ``unit``).
ferlens wraps it in ``CustomNetwork``, which takes raw images in [0, 1] and normalizes them
first, as every ferlens network. ``model.net.cam_layer`` names the layer the CAMs explain: its
output is a grid [B, C, h, w], or tokens [B, N, C] once ``model.net.cam_prefix_tokens`` declares
how many class/register tokens come before the square grid of patch tokens. Every other
``model.net.*`` key goes to the constructor. One probe image checks all of it at start-up, each
mistake refused in one sentence.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ferlens.networks.base import Network
from ferlens.networks.data_config import NORMALIZATIONS, DataConfig, check_input_size, make_data_config
from ferlens.registry import import_target
from ferlens.user_errors import UserError

#: ``model.net`` keys ferlens reads itself (``name``: how runs and reports name the network, by
#: default its ``_target_``); every other key goes to the user's constructor.
OWN_KEYS = ("_target_", "name", "cam_layer", "cam_prefix_tokens")
#: Layers listed in a refusal of ``cam_layer`` (the deepest first).
LISTED_LAYERS = 6


@dataclass(frozen=True)
class NetworkSpec:
    """A ``model.net`` block of a user's network: ``target`` (``module.Class``), ``cam_layer``
    (a module name of the user's network), ``cam_prefix_tokens`` (None: the layer yields a grid),
    ``settings`` (the constructor's other keyword arguments)."""

    target: str
    cam_layer: str | None
    cam_prefix_tokens: int | None
    settings: dict[str, Any]

    @classmethod
    def from_config(cls, net: Mapping[str, Any] | functools.partial) -> NetworkSpec:
        """From a ``model.net`` mapping with ``_target_``, or Hydra's partial of it (``_partial_: true``)."""
        if isinstance(net, functools.partial):
            func = net.func
            net = {"_target_": f"{func.__module__}.{func.__qualname__}", **net.keywords}
        values = {key: value for key, value in net.items() if key != "_partial_"}
        prefix = values.get("cam_prefix_tokens")
        if prefix is not None and (isinstance(prefix, bool) or not isinstance(prefix, int) or prefix < 0):
            raise UserError(f"model.net.cam_prefix_tokens={prefix} is not a count of tokens: give the class/register tokens before the patch tokens, e.g. 1.")
        settings = {key: value for key, value in values.items() if key not in OWN_KEYS}
        return cls(str(values["_target_"]), values.get("cam_layer"), prefix, settings)

    def to_config(self) -> dict[str, Any]:
        """The ``model.net`` mapping (plain data: what checkpoints record)."""
        return {"_target_": self.target, "cam_layer": self.cam_layer, "cam_prefix_tokens": self.cam_prefix_tokens, **self.settings}


def declared_data_config(owner: object, name: str, input_size: int | None, normalization: str | None) -> DataConfig:
    """The input of network ``name``: ``input_size`` (pixels) and ``normalization`` (a name of
    ``NORMALIZATIONS``) where given, else what ``owner`` (the class or the built module)
    declares in a ``data_config`` or timm ``pretrained_cfg`` attribute; no declared size is
    refused, no declared normalization is ``unit``. Its mean and std are named after the entry
    of ``NORMALIZATIONS`` with the same values, else ``own``."""
    declared = getattr(owner, "data_config", None) or getattr(owner, "pretrained_cfg", None)
    read = (lambda key: declared.get(key)) if isinstance(declared, Mapping) else (lambda key: getattr(declared, key, None))
    own_size = read("input_size") if declared is not None else None
    size = input_size if input_size is not None else (own_size[-1] if isinstance(own_size, tuple | list) else own_size)
    if size is None:
        raise UserError(
            f"{name} declares no input size: set model.input_size (pixels, e.g. model.input_size=112), or give the class a data_config "
            "or pretrained_cfg attribute with input_size."
        )
    size = check_input_size(name, size)
    mean, std = (read("mean"), read("std")) if declared is not None else (None, None)
    if normalization is not None or mean is None or std is None:
        return make_data_config(name, size, normalization or "unit", True)
    mean, std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
    named = next((n for n, (m, s) in NORMALIZATIONS.items() if (tuple(map(float, m)), tuple(map(float, s))) == (mean, std)), "own")
    return DataConfig(size, mean, std, named, True)


def resolve_custom_data_config(net: Mapping[str, Any], input_size: int | None, normalization: str | None) -> DataConfig:
    """The data config of ``model.net`` with ``_target_``, from the class alone (nothing built)."""
    spec = NetworkSpec.from_config(net)
    return declared_data_config(import_target(spec.target, "model.net._target_"), spec.target, input_size, normalization)


class TokenGrid(nn.Module):
    """Lays a layer's tokens [B, N, C] on their square grid through ``grid`` (an identity whose
    output, [B, C, h, w], is the CAM layer) and back, leaving the first ``prefix_tokens`` (class,
    register tokens) untouched: registered as that layer's forward hook, so the gradients of the
    CAMs flow through the grid."""

    def __init__(self, prefix_tokens: int) -> None:
        super().__init__()
        self.prefix_tokens = prefix_tokens
        self.grid = nn.Identity()

    def hook(self, _module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
        """The layer's output through the grid; None (unchanged) where it is no square grid of
        tokens, which ``check_network`` refuses at start-up."""
        prefix, patches = output[:, : self.prefix_tokens], output[:, self.prefix_tokens :]
        side = math.isqrt(patches.shape[1]) if output.dim() == 3 else 0
        if side == 0 or side * side != patches.shape[1]:
            return None
        grid = self.grid(patches.transpose(1, 2).reshape(len(patches), -1, side, side))
        return torch.cat([prefix, grid.flatten(2).transpose(1, 2)], dim=1)


class CustomNetwork(Network):
    """A user's ``nn.Module`` (``model``) under ferlens' contract: raw RGB [B, 3, S, S] in [0, 1]
    -> ``normalize`` -> ``model`` -> logits [B, num_classes]. ``cam_layer`` is ``model.<layer>``,
    or for a token layer ``token_grid.grid`` (``TokenGrid``); absent when none is declared."""

    def __init__(self, model: nn.Module, data_config: DataConfig, spec: NetworkSpec) -> None:
        super().__init__(data_config)
        self.model = model
        self.target = spec.target
        if spec.cam_layer is not None and spec.cam_prefix_tokens is not None:
            self.token_grid = TokenGrid(spec.cam_prefix_tokens)
            model.get_submodule(spec.cam_layer).register_forward_hook(self.token_grid.hook)
            self.cam_layer = "token_grid.grid"
        elif spec.cam_layer is not None:
            self.cam_layer = f"model.{spec.cam_layer}"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Raw RGB [B, 3, S, S] in [0, 1] -> logits [B, num_classes]."""
        return self.model(self.normalize(images))


def build_custom_network(
    net: Mapping[str, Any] | functools.partial,
    num_classes: int,
    class_names: list[str] | None = None,
    input_size: int | None = None,
    normalization: str | None = None,
) -> CustomNetwork:
    """The user's network of ``model.net`` (a mapping with ``_target_``, or Hydra's partial of
    it), built with ``num_classes`` when its constructor takes it, wrapped and checked on one
    probe image: logits [1, num_classes], a ``cam_layer`` that exists and yields a grid (or
    tokens with ``cam_prefix_tokens``)."""
    spec = NetworkSpec.from_config(net)
    factory = import_target(spec.target, "model.net._target_")
    settings = dict(spec.settings)
    parameters = _parameters(factory)
    if parameters is not None and "num_classes" in parameters:
        settings.setdefault("num_classes", num_classes)
    if parameters is not None and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        unknown = sorted(set(settings) - set(parameters))
        if unknown:
            accepted = ", ".join(parameters) or "none"
            raise UserError(f"{spec.target} takes no argument '{unknown[0]}': remove model.net.{unknown[0]} (its arguments: {accepted}).")
    model = factory(**settings)
    if not isinstance(model, nn.Module):
        raise UserError(f"model.net._target_={spec.target} returned a {type(model).__name__}, not a torch nn.Module: name the network's class.")
    return _wrapped(model, spec, num_classes, class_names, input_size, normalization)


def wrap_network(
    model: nn.Module,
    num_classes: int,
    cam_layer: str,
    cam_prefix_tokens: int | None = None,
    input_size: int | None = None,
    normalization: str | None = None,
) -> CustomNetwork:
    """An ``nn.Module`` already built (normalized RGB [B, 3, S, S] -> logits [B, num_classes]) under
    ferlens' contract, for the explainers from Python: raw [0, 1] input normalized first, the CAM
    layer ``cam_layer`` (tokens laid on their grid with ``cam_prefix_tokens``), all checked on a
    probe image as for ``model=custom``. ``input_size`` (pixels) and ``normalization``: as
    ``declared_data_config``."""
    spec = NetworkSpec(f"{type(model).__module__}.{type(model).__qualname__}", cam_layer, cam_prefix_tokens, {})
    return _wrapped(model, spec, num_classes, None, input_size, normalization)


def _wrapped(
    model: nn.Module, spec: NetworkSpec, num_classes: int, class_names: list[str] | None, input_size: int | None, normalization: str | None
) -> CustomNetwork:
    network = CustomNetwork(model, declared_data_config(model, spec.target, input_size, normalization), spec)
    check_network(network, spec, num_classes, class_names)
    return network


def _parameters(factory: Callable[..., Any]) -> dict[str, inspect.Parameter] | None:
    try:
        return dict(inspect.signature(factory).parameters)
    except (TypeError, ValueError):  # a builtin without a signature
        return None


def layer_shapes(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, tuple[int, ...]]]:
    """One forward pass of ``model`` on ``images`` without gradients: its output and the output
    shape of every named submodule that returns one tensor, in the order they ran."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, module in model.named_modules():
        if name:

            def keep(_module: nn.Module, _inputs: tuple, output: Any, name: str = name) -> None:
                if isinstance(output, torch.Tensor):
                    shapes[name] = tuple(output.shape)

            handles.append(module.register_forward_hook(keep))
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(images)
    finally:
        model.train(training)
        for handle in handles:
            handle.remove()
    return output, shapes


def check_network(network: CustomNetwork, spec: NetworkSpec, num_classes: int, class_names: list[str] | None = None) -> None:
    """Refuse in one sentence, on one black probe image: an output that is not logits
    [1, num_classes], a missing or unknown ``cam_layer``, a ``cam_layer`` whose output is
    neither a grid [B, C, h, w] nor (declared) tokens on a square grid."""
    size = network.data_config.input_size
    probe = torch.zeros(1, 3, size, size, device=network.input_mean.device)
    try:
        output, shapes = layer_shapes(network.model, network.normalize(probe))
    except RuntimeError as error:
        raise UserError(f"{spec.target} fails on a {size}x{size} image ({str(error).splitlines()[0]}): set model.input_size to a size it takes.") from error
    shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
    if shape != (1, num_classes):
        classes = f" ({', '.join(class_names)})" if class_names else ""
        if isinstance(shape, tuple) and len(shape) == 2:
            raise UserError(
                f"{spec.target} gives {shape[1]} logits per image but the data has {num_classes} classes{classes}: build it with num_classes={num_classes} "
                "(ferlens passes num_classes to a constructor that takes it) or choose data whose classes match."
            )
        raise UserError(f"{spec.target} returns {shape} for one image, not logits [B, num_classes] = (1, {num_classes}): make forward return the class logits.")
    if spec.cam_layer is None:
        raise UserError(f"{spec.target} needs model.net.cam_layer, the layer whose output the CAMs explain: e.g. one of {_first(shapes)}.")
    if spec.cam_layer not in shapes:
        raise UserError(f"model.net.cam_layer={spec.cam_layer} is no layer of {spec.target} that returns a tensor: choose one of {_first(shapes)}.")
    layer = shapes[spec.cam_layer]
    if spec.cam_prefix_tokens is None and len(layer) == 3:
        hint = next((p for p in range(0, 5) if layer[1] > p and math.isqrt(layer[1] - p) ** 2 == layer[1] - p), None)
        declare = f"model.net.cam_prefix_tokens={hint}" if hint is not None else "model.net.cam_prefix_tokens=<class and register tokens>"
        raise UserError(
            f"model.net.cam_layer={spec.cam_layer} yields tokens {list(layer)}, not a [B, C, h, w] grid: declare {declare} "
            "(the tokens before the square grid of patch tokens) to lay them on their grid."
        )
    if spec.cam_prefix_tokens is not None:
        patches = layer[1] - spec.cam_prefix_tokens if len(layer) == 3 else -1
        if patches <= 0 or math.isqrt(patches) ** 2 != patches:
            raise UserError(
                f"model.net.cam_layer={spec.cam_layer} yields {list(layer)}, whose tokens after the first {spec.cam_prefix_tokens} do not fill a square grid: "
                "give model.net.cam_prefix_tokens the number of class and register tokens, or choose a layer of tokens [B, N, C]."
            )
    elif len(layer) != 4:
        raise UserError(f"model.net.cam_layer={spec.cam_layer} yields {list(layer)}, not a [B, C, h, w] grid: choose one of {_first(shapes)}.")


def _first(shapes: dict[str, tuple[int, ...]]) -> str:
    """The layers yielding a grid or tokens, with their output shapes on the probe image: the
    outermost first (``stage3`` before ``stage3.0``), then the deepest."""
    found = [(name, shape) for name, shape in reversed(shapes.items()) if len(shape) in (3, 4)]
    listed = [f"{name} {tuple(shape)}" for name, shape in sorted(found, key=lambda item: item[0].count("."))][:LISTED_LAYERS]
    return ", ".join(listed) if listed else "none (no layer yields a grid [B, C, h, w] or tokens [B, N, C])"
