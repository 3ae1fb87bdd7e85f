"""DeepLIFT, rescale rule (Shrikumar et al. 2017), captum."""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import Attribution, DeepLift
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.gradients import InputAttribution


@register_explainer("deeplift")
class DeepLIFT(InputAttribution):
    """Contributions of (x - baseline) to the target logit's change from a uniform ``baseline``
    image (a raw pixel value in [0, 1]: 0 = black), rescale rule on captum's supported
    non-linearities (ReLU, sigmoid, tanh, max-pool...; others fall back to gradients); signed:
    map = channel sum, positive part."""

    def __init__(self, baseline: float = 0.0) -> None:
        self.baseline = baseline

    def attribution(self, model: nn.Module) -> Attribution:
        return DeepLift(model)

    def arguments(self, images: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        return {"target": targets.tolist(), "baselines": self.baseline}
