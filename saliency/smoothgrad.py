"""SmoothGrad (Smilkov et al. 2017) of any input-attribution method, captum's NoiseTunnel."""

from __future__ import annotations

from ferlens.saliency import register_explainer
from ferlens.saliency.gradients import NoisyAttribution


@register_explainer("smoothgrad")
class SmoothGrad(NoisyAttribution):
    """The mean of ``base``'s attributions over noisy copies (``gradients.NoisyAttribution``),
    reduced as ``base`` (default: the plain gradient's |dS/dx|)."""

    nt_type = "smoothgrad"
