"""Score-CAM (Wang et al. 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.cam import ClassActivationMap, layer_activations, target_scores

#: Added to each upsampled channel's range, as pytorch-grad-cam does.
EPSILON = 1e-8


@register_explainer("scorecam")
class ScoreCAM(ClassActivationMap):
    """ReLU(sum_c w_c A_c), w = softmax over channels of the target logit of the image times
    each channel of ``cam_layer`` upsampled (bilinear, corners aligned, as pytorch-grad-cam) and
    min-max scaled to [0, 1] (a mask of raw pixels: 0 = black). ``batch_size`` masked images per
    forward pass (the memory budget: one image's channels are masked ``batch_size`` at a time)."""

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def layer_maps(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        activations = layer_activations(model, images)
        scores = torch.empty(activations.shape[:2], device=images.device)
        for b, (image, target) in enumerate(zip(images, targets.tolist(), strict=True)):
            for start in range(0, activations.shape[1], self.batch_size):
                channels = activations[b, start : start + self.batch_size, None]  # [n, 1, h, w]
                masks = F.interpolate(channels, size=images.shape[-2:], mode="bilinear", align_corners=True)
                lowest, highest = masks.amin(dim=(2, 3), keepdim=True), masks.amax(dim=(2, 3), keepdim=True)
                masks = (masks - lowest) / (highest - lowest + EPSILON)
                scores[b, start : start + len(channels)] = target_scores(model, image * masks, target, self.batch_size)
        weights = scores.softmax(dim=1)
        return F.relu((weights[..., None, None] * activations).sum(dim=1))
