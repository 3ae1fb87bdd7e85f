"""Explainers behind one interface (``saliency.base.Explainer``) and their registry."""

from __future__ import annotations

from saliency.attribution import IntegratedGradients, Occlusion
from saliency.base import Explainer
from saliency.cam import GradCAM, GradCAMPlusPlus, LayerAttention
from saliency.lime import Lime
from user_errors import UserError

EXPLAINERS: dict[str, type[Explainer]] = {cls.name: cls for cls in (Lime, GradCAM, GradCAMPlusPlus, IntegratedGradients, Occlusion, LayerAttention)}


def build_explainer(name: str, **params: object) -> Explainer:
    """An explainer by name (``lime``, ``gradcam``, ``gradcampp``, ``ig``, ``occlusion``, ``attention``)."""
    if name not in EXPLAINERS:
        raise UserError(f"Unknown saliency method '{name}': choose one of {', '.join(EXPLAINERS)}.")
    return EXPLAINERS[name](**params)
