"""Guided Backpropagation (Springenberg et al. 2015), captum."""

from __future__ import annotations

from captum.attr import Attribution, GuidedBackprop
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.gradients import InputAttribution


@register_explainer("guided_backprop")
class GuidedBackpropagation(InputAttribution):
    """dS/dx with only positive gradients passed back through every ``nn.ReLU`` module (other
    activations, e.g. GELU or hard-swish, pass their gradient unchanged, as captum); signed:
    map = channel sum, positive part."""

    def attribution(self, model: nn.Module) -> Attribution:
        return GuidedBackprop(model)
