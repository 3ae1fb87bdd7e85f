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


def build_network(name: str, num_classes: int, pretrained: bool = False, weights: str | None = None, input_size: int = 224) -> nn.Module:
    """Build a registered network, or any timm model id (adapted the same way as the study's
    backbones, fed ``input_size`` pixels), with a ``num_classes`` head."""
    if name in _REGISTRY:
        return _REGISTRY[name](num_classes=num_classes, pretrained=pretrained, weights=weights)
    import timm

    if timm.is_model(name):
        from lightning_modules.networks.timm_backbones import timm_network

        return timm_network(name, num_classes, pretrained, weights, input_size)
    raise UnknownNetworkError(f"Unknown network '{name}': choose one of {', '.join(available_networks())}, or a timm model id (timm.list_models()).")


from lightning_modules.networks import alexnet, silnet, smallcnn, songnet, timm_backbones, weinet  # noqa: E402,F401  (registers)
