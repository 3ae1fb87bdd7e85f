"""Explainer registry (a ``ferlens.registry.Registry``, like the networks' and the dataset
readers'): ``register_explainer(name)`` on a class,
``available_explainers()``, ``build_explainer(name, **params)``.

Every explainer maps raw RGB images ``[B, 3, H, W]`` in [0, 1] (the network normalises them
itself) and target classes ``[B]`` to non-negative maps ``[B, H, W]`` in image pixels
(``saliency.base.Explainer``). One file per method; the CAM helpers are in ``saliency.cam``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ferlens.registry import Registry
from ferlens.saliency.base import Explainer
from ferlens.user_errors import UserError

#: Registered explainer classes by method name (the ``name`` of the ``saliency`` configs).
EXPLAINERS: dict[str, type[Explainer]] = {}

ExplainerClass = TypeVar("ExplainerClass", bound=type[Explainer])


class UnknownExplainerError(UserError):
    """Raised for a saliency method that is not registered, or a parameter it does not take."""


def _explainers() -> Registry[type[Explainer]]:
    """The registry over ``EXPLAINERS`` as this module holds it now (a test swaps in a copy)."""
    refusal = "{Kind} '{name}' has no parameter {unknown}: its parameters are {accepted}; fix the saliency config."
    return Registry("saliency method", UnknownExplainerError, refusal=refusal, entries=EXPLAINERS)


def register_explainer(name: str) -> Callable[[ExplainerClass], ExplainerClass]:
    """Class decorator registering an explainer as ``name``, which becomes its ``name``
    attribute (the method recorded in heatmap artifacts)."""

    def add(cls: ExplainerClass) -> ExplainerClass:
        _explainers().register(name)(cls)
        cls.name = name
        return cls

    return add


def available_explainers() -> list[str]:
    """The registered saliency method names, sorted (``build_explainer``'s choices)."""
    return _explainers().names()


def build_explainer(name: str, **params: object) -> Explainer:
    """The explainer registered as ``name``, built with ``params`` (its constructor's arguments)."""
    explainers = _explainers()
    explainers.check_keywords(name, params)
    return explainers.get(name)(**params)


from ferlens.saliency import (  # noqa: E402,F401  (registers)
    ablationcam,
    attention,
    attention_rollout,
    chefer,
    deeplift,
    eigencam,
    eigengradcam,
    extremal,
    fullgrad,
    gradcam,
    gradcam_elementwise,
    gradcampp,
    gradientshap,
    guided_backprop,
    guided_gradcam,
    hirescam,
    ig,
    inputxgradient,
    kernelshap,
    layercam,
    lime,
    occlusion,
    random_cam,
    rise,
    saliency_map,
    scorecam,
    shapley_sampling,
    smoothgrad,
    vargrad,
    xgradcam,
)
