"""Ablation-CAM (Desai & Ramaswamy 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.networks.features import capture_features
from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap, target_scores


@register_explainer("ablationcam")
class AblationCAM(ClassActivationMap):
    """ReLU(sum_c w_c A_c), w_c = (y - y_c) / y with y the target logit and y_c the logit when
    channel c of ``cam_layer`` is set to 0 (the paper's ablation; pytorch-grad-cam sets it to
    its minimum - 1e7 instead when the layer's minimum is not 0, e.g. after a hard-swish).
    ``batch_size`` ablated copies per forward pass (the memory budget)."""

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def layer_maps(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), capture_features(model) as captured:
            original = model(images).gather(1, targets[:, None])[:, 0]
        activations = captured["features"].detach()
        channels = activations.shape[1]
        ablated = torch.empty(activations.shape[:2], device=images.device)
        replacement: dict[str, torch.Tensor] = {}
        handle = model.get_submodule(model.cam_layer).register_forward_hook(lambda _module, _inputs, _output: replacement["features"])
        try:
            for b, (image, target) in enumerate(zip(images, targets.tolist(), strict=True)):
                for start in range(0, channels, self.batch_size):
                    ablate = torch.arange(start, min(start + self.batch_size, channels), device=images.device)
                    copies = activations[b].repeat(len(ablate), 1, 1, 1)
                    copies[torch.arange(len(ablate)), ablate] = 0
                    replacement["features"] = copies
                    ablated[b, ablate] = target_scores(model, image.expand(len(ablate), -1, -1, -1), target, len(ablate))
        finally:
            handle.remove()
        weights = (original[:, None] - ablated) / original[:, None]
        return F.relu((weights[..., None, None] * activations).sum(dim=1))
