"""Network registry (a ``ferlens.registry.Registry``), timm style: ``build_network(name, num_classes, ...)`` and ``resolve_data_config(name, ...)``.

Every network maps raw RGB images [B, 3, S, S] in [0, 1] to logits [B, num_classes], normalizes
its input itself and exposes ``data_config`` (input size S, mean, std: ``data_config.py``) and
``cam_layer`` (the name of its last spatial feature map, [B, C, h, w]).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import timm
from torch import nn

from ferlens.networks.data_config import DataConfig
from ferlens.registry import Registry
from ferlens.user_errors import UserError

#: ``data_config(name, input_size, normalization, settings) -> DataConfig`` of a registered network.
DataConfigResolver = Callable[[str, int | None, str | None, dict[str, Any]], DataConfig]


class UnknownNetworkError(UserError):
    """Raised for a network name that is neither registered nor a timm model, or a
    ``model.net.*`` setting its factory does not take."""


def _refuse_settings(name: str, unknown: list[str], own: list[str]) -> str:
    first = sorted(unknown)[0]
    listed = f" (its settings: {', '.join(own)})" if own else ""
    return f"{name} has no setting '{first}': remove model.net.{first}{listed}."


#: Registered network factories by name, each with its ``data_config`` resolver (metadata).
#: A factory with ``**settings`` hands unknown ``model.net.*`` keys to timm, which checks them.
_REGISTRY: Registry[Callable[..., nn.Module]] = Registry(
    "network",
    UnknownNetworkError,
    unknown_hint=", or a timm model id (timm.list_models())",
    refusal=_refuse_settings,
    supplied=("num_classes", "data_config", "pretrained", "weights"),
)


def register_network(name: str, data_config: DataConfigResolver) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator adding a factory ``f(num_classes, data_config, pretrained, weights, **settings) -> nn.Module``;
    ``data_config`` resolves the network's input without building it."""
    return _REGISTRY.register(name, data_config=data_config)


def available_networks() -> list[str]:
    return _REGISTRY.names()


def resolve_data_config(name: str, input_size: int | None = None, normalization: str | None = None, **extra: Any) -> DataConfig:
    """The ``data_config`` that ``build_network(name, ..., input_size, normalization, **extra)``
    will have, without building the network or reading weights. None = the network's own: the
    study networks' native size and ``unit``, 224 and ``unit`` for the study backbones, a timm
    model's ``pretrained_cfg`` input size, mean and std."""
    if name in _REGISTRY:
        _REGISTRY.check_keywords(name, extra)
        return _REGISTRY.metadata(name)["data_config"](name, input_size, normalization, extra)
    if timm.is_model(name):
        return timm_backbones.timm_data_config(name, name, input_size, normalization, extra)
    raise _REGISTRY.unknown(name)


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
    factory = _REGISTRY.get(name) if name in _REGISTRY else partial(timm_backbones.TimmClassifier, name)
    return factory(num_classes=num_classes, data_config=data_config, pretrained=pretrained, weights=weights, **extra)


from ferlens.networks import alexnet, silnet, smallcnn, songnet, timm_backbones, weinet  # noqa: E402,F401  (registers)
