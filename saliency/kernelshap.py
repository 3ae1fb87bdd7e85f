"""KernelSHAP (Lundberg & Lee 2017) over superpixels or template regions, captum."""

from __future__ import annotations

from captum.attr import Attribution, KernelShap
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.shapley import RegionShapley


@register_explainer("kernelshap")
class KernelSHAP(RegionShapley):
    """Region Shapley values (``shapley.RegionShapley``) from a linear fit on ``samples``
    coalitions weighted by the Shapley kernel."""

    def attribution(self, model: nn.Module) -> Attribution:
        return KernelShap(model)
