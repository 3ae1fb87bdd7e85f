"""Input x Gradient (Shrikumar et al. 2016), captum."""

from __future__ import annotations

from captum.attr import Attribution, InputXGradient
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.gradients import InputAttribution


@register_explainer("inputxgradient")
class InputTimesGradient(InputAttribution):
    """x dS/dx (x the raw image in [0, 1], S the target logit); signed: map = channel sum, positive part."""

    def attribution(self, model: nn.Module) -> Attribution:
        return InputXGradient(model)
