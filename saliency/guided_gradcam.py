"""Guided Grad-CAM (Selvaraju et al. 2017), captum."""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import Attribution, GuidedGradCam
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.gradients import InputAttribution


@register_explainer("guided_gradcam")
class GuidedGradCAM(InputAttribution):
    """Guided backpropagation times Grad-CAM on ``cam_layer`` (ReLU'd, upsampled bilinear to the
    image; captum's default is nearest); signed: map = channel sum, positive part."""

    def attribution(self, model: nn.Module) -> Attribution:
        return GuidedGradCam(model, model.get_submodule(model.cam_layer))

    def arguments(self, images: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        return {"target": targets.tolist(), "interpolate_mode": "bilinear"}
