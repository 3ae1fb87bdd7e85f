"""Eigen-CAM (Muhammad & Yeasin 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap, layer_activations, principal_projection


@register_explainer("eigencam")
class EigenCAM(ClassActivationMap):
    """ReLU of the ``cam_layer`` activations projected on their first principal component
    (``cam.principal_projection``; class-agnostic: ``targets`` are not used). Sign: the SVD's is
    arbitrary, so the projection is flipped to make its largest-magnitude value positive
    (pytorch-grad-cam's ``get_2d_projection_with_sign_correction``; its EigenCAM keeps LAPACK's sign)."""

    def layer_maps(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.relu(principal_projection(layer_activations(model, images)))
