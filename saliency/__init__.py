"""Explainer registry, like the networks': ``register_explainer(name)`` on a class,
``available_explainers()``, ``build_explainer(name, **params)``.

Every explainer maps raw RGB images ``[B, 3, H, W]`` in [0, 1] (the network normalises them
itself) and target classes ``[B]`` to non-negative maps ``[B, H, W]`` in image pixels
(``saliency.base.Explainer``). One file per method; the CAM helpers are in ``saliency.cam``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from ferlens.saliency.base import Explainer
from ferlens.user_errors import UserError

#: Registered explainer classes by method name (the ``name`` of the ``saliency`` configs).
EXPLAINERS: dict[str, type[Explainer]] = {}

ExplainerClass = TypeVar("ExplainerClass", bound=type[Explainer])


class UnknownExplainerError(UserError):
    """Raised for a saliency method that is not registered, or a parameter it does not take."""


def register_explainer(name: str) -> Callable[[ExplainerClass], ExplainerClass]:
    """Class decorator registering an explainer as ``name``, which becomes its ``name``
    attribute (the method recorded in heatmap artifacts)."""

    def add(cls: ExplainerClass) -> ExplainerClass:
        cls.name = name
        EXPLAINERS[name] = cls
        return cls

    return add


def available_explainers() -> list[str]:
    return sorted(EXPLAINERS)


def build_explainer(name: str, **params: object) -> Explainer:
    """The explainer registered as ``name``, built with ``params`` (its constructor's arguments)."""
    if name not in EXPLAINERS:
        raise UnknownExplainerError(f"Unknown saliency method '{name}': choose one of {', '.join(available_explainers())}.")
    accepted = list(inspect.signature(EXPLAINERS[name]).parameters)
    unknown = [key for key in params if key not in accepted]
    if unknown:
        raise UnknownExplainerError(
            f"Saliency method '{name}' has no parameter {', '.join(unknown)}: its parameters are {', '.join(accepted) or 'none'}; fix the saliency config."
        )
    return EXPLAINERS[name](**params)


from ferlens.saliency import attention, gradcam, gradcampp, ig, layercam, lime, occlusion  # noqa: E402,F401  (registers)
