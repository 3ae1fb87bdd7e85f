"""Shapley value sampling (Castro et al. 2009) over superpixels or template regions, captum."""

from __future__ import annotations

from captum.attr import Attribution, ShapleyValueSampling
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.shapley import RegionShapley


@register_explainer("shapley_sampling")
class ShapleySampling(RegionShapley):
    """Region Shapley values (``shapley.RegionShapley``) averaged over ``samples`` random
    orderings of the regions (one forward pass per region and ordering)."""

    def __init__(self, regions: str = "superpixels", count: int = 30, baseline: float = 0.0, samples: int = 8, batch_size: int = 64, seed: int = 0) -> None:
        super().__init__(regions, count, baseline, samples, batch_size, seed)

    def attribution(self, model: nn.Module) -> Attribution:
        return ShapleyValueSampling(model)
