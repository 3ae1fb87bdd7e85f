"""Network registry, timm style: ``build_network(name, num_classes, ...)`` and ``resolve_data_config(name, ...)``.

Every network maps raw RGB images [B, 3, S, S] in [0, 1] to logits [B, num_classes], normalizes
its input itself and exposes ``data_config`` (input size S, mean, std: ``data_config.py``) and
``cam_layer`` (the name of its last spatial feature map, [B, C, h, w]).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import timm
from torch import nn

from ferlens.networks.data_config import DataConfig
from ferlens.user_errors import UserError

#: ``data_config(name, input_size, normalization, settings) -> DataConfig`` of a registered network.
DataConfigResolver = Callable[[str, int | None, str | None, dict[str, Any]], DataConfig]


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., nn.Module]
    data_config: DataConfigResolver


_REGISTRY: dict[str, _Entry] = {}
_BUILD_ARGUMENTS = ("num_classes", "data_config", "pretrained", "weights")


class UnknownNetworkError(UserError):
    """Raised for a network name that is neither registered nor a timm model."""


def register_network(name: str, data_config: DataConfigResolver) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator adding a factory ``f(num_classes, data_config, pretrained, weights, **settings) -> nn.Module``;
    ``data_config`` resolves the network's input without building it."""

    def add(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY[name] = _Entry(factory, data_config)
        return factory

    return add


def available_networks() -> list[str]:
    return sorted(_REGISTRY)


def _check_settings(name: str, factory: Callable[..., nn.Module], settings: dict[str, Any]) -> None:
    """Refuse ``model.net.*`` keys a registered factory does not take (those with ``**settings``
    hand them to timm, which checks them when building)."""
    parameters = inspect.signature(factory).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return
    own = [p for p in parameters if p not in _BUILD_ARGUMENTS]
    unknown = sorted(set(settings) - set(own))
    if unknown:
        listed = f" (its settings: {', '.join(own)})" if own else ""
        raise UserError(f"{name} has no setting '{unknown[0]}': remove model.net.{unknown[0]}{listed}.")


def resolve_data_config(name: str, input_size: int | None = None, normalization: str | None = None, **extra: Any) -> DataConfig:
    """The ``data_config`` that ``build_network(name, ..., input_size, normalization, **extra)``
    will have, without building the network or reading weights. None = the network's own: the
    study networks' native size and ``unit``, 224 and ``unit`` for the study backbones, a timm
    model's ``pretrained_cfg`` input size, mean and std."""
    if name in _REGISTRY:
        entry = _REGISTRY[name]
        _check_settings(name, entry.factory, extra)
        return entry.data_config(name, input_size, normalization, extra)
    if timm.is_model(name):
        return timm_backbones.timm_data_config(name, name, input_size, normalization, extra)
    raise UnknownNetworkError(f"Unknown network '{name}': choose one of {', '.join(available_networks())}, or a timm model id (timm.list_models()).")


def build_network(
    name: str,
    num_classes: int,
    pretrained: bool = False,
    weights: str | None = None,
    input_size: int | None = None,
    normalization: str | None = None,
    **extra: Any,
) -> nn.Module:
    """A registered network or any timm model id (adapted as the study's backbones) with a
    ``num_classes`` head, taking raw images of ``resolve_data_config(name, input_size,
    normalization, **extra)``; ``extra`` (``model.net.*``) goes to the factory, for timm models
    to ``timm.create_model`` (e.g. ``drop_path_rate``)."""
    data_config = resolve_data_config(name, input_size, normalization, **extra)
    factory = _REGISTRY[name].factory if name in _REGISTRY else partial(timm_backbones.TimmClassifier, name)
    return factory(num_classes=num_classes, data_config=data_config, pretrained=pretrained, weights=weights, **extra)


from ferlens.networks import alexnet, silnet, smallcnn, songnet, timm_backbones, weinet  # noqa: E402,F401  (registers)
