"""ferlens: explainable facial-expression recognition, as a framework (``train.py``,
``analyze.py``) and as a library. The names below are the plain-Python API; each loads its
module on first use, so ``import ferlens`` (and ``train.py --help``) loads no torch.

Explain, warp, score (shapes: images [B, 3, H, W] raw RGB in [0, 1], landmarks [B, 68, 2]
image pixels, template maps [B, 275, 224])::

    maps = ferlens.build_explainer("gradcampp")(model, images, targets)   # [B, H, W], any model with cam_layer
    warped = ferlens.TemplateWarper().to_template(maps, landmarks)        # [B, 275, 224]
    scores = ferlens.score_maps(warped.numpy(), ferlens.ekman_family())   # {metric: [B, 6]}

Train your own network in your own Lightning project with ``FERModule`` (or your own
module) and ``GlobalSaliency`` (``ferlens.callbacks.protocol`` says what it reads);
``read_artifact`` / ``write_artifact`` read and write the heatmap artifact that
``analyze.py`` reports."""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> (module, attribute)
_EXPORTS = {
    # explainers and networks
    "build_explainer": ("ferlens.saliency", "build_explainer"),
    "available_explainers": ("ferlens.saliency", "available_explainers"),
    "build_network": ("ferlens.networks.registry", "build_network"),
    "build_custom_network": ("ferlens.networks.custom", "build_custom_network"),
    "wrap_network": ("ferlens.networks.custom", "wrap_network"),
    # faces: template, warp, masks, landmarks
    "TemplateWarper": ("ferlens.faces.warp", "TemplateWarper"),
    "prepare_face": ("ferlens.faces.prepare", "prepare_face"),
    "ekman_mask": ("ferlens.faces.ekman_masks", "ekman_mask"),
    "au_template_mask": ("ferlens.faces.au", "au_template_mask"),
    "ekman_family": ("ferlens.evaluation.localisation.masks", "ekman_family"),
    "au_family": ("ferlens.evaluation.localisation.masks", "au_family"),
    # scores and statistics on numpy arrays
    "score_maps": ("ferlens.evaluation.localisation.maps", "score_template_maps"),
    "Threshold": ("ferlens.evaluation.localisation.scores", "Threshold"),
    "t_interval": ("ferlens.analysis.statistics.intervals", "t_interval"),
    "bootstrap_intervals": ("ferlens.analysis.statistics.intervals", "bootstrap_intervals"),
    "spearman_brown": ("ferlens.analysis.statistics.reliability", "spearman_brown"),
    # the heatmap artifact
    "read_artifact": ("ferlens.formats.heatmap_artifact", "read_artifact"),
    "write_artifact": ("ferlens.formats.heatmap_artifact", "write_artifact"),
    "HeatmapManifest": ("ferlens.formats.manifest", "HeatmapManifest"),
    # Lightning
    "FERModule": ("ferlens.lightning_modules.fer_module", "FERModule"),
    "GlobalSaliency": ("ferlens.callbacks.global_saliency", "GlobalSaliency"),
    "UserError": ("ferlens.user_errors", "UserError"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ferlens' has no attribute '{name}'")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
