"""Network registry, timm style: ``build_network(name, num_classes, pretrained)``.

Every network is an ``nn.Module`` mapping images ``[B, 3, S, S]`` to logits
``[B, num_classes]`` and declares ``input_size`` (S, pixels), ``normalization``
(``unit`` = x/255 or ``imagenet``) and ``cam_layer`` (name of its last spatial feature map).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from user_errors import UserError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


class UnknownNetworkError(UserError):
    """Raised for a network name that is not registered."""


def register_network(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator adding a network factory ``f(num_classes, pretrained, weights) -> nn.Module``."""

    def add(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY[name] = factory
        return factory

    return add


def available_networks() -> list[str]:
    return sorted(_REGISTRY)


def build_network(name: str, num_classes: int, pretrained: bool = False, weights: str | None = None) -> nn.Module:
    """Build a registered network with a ``num_classes`` head."""
    if name not in _REGISTRY:
        raise UnknownNetworkError(f"Unknown network '{name}': choose one of {', '.join(available_networks())}.")
    return _REGISTRY[name](num_classes=num_classes, pretrained=pretrained, weights=weights)


from lightning_modules.networks import smallcnn  # noqa: E402,F401  (registers)
