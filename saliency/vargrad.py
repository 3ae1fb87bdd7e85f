"""VarGrad (Adebayo et al. 2018) of any input-attribution method, captum's NoiseTunnel."""

from __future__ import annotations

from ferlens.saliency import register_explainer
from ferlens.saliency.gradients import NoisyAttribution


@register_explainer("vargrad")
class VarGrad(NoisyAttribution):
    """The variance of ``base``'s attributions over noisy copies (``gradients.NoisyAttribution``),
    reduced as ``base``: non-negative."""

    nt_type = "vargrad"
