"""Face geometry: 68 landmarks (``prepare_face``: detection, landmarks, crop), the template
face, warping into it (``TemplateWarper``), Ekman and AU masks. Names load on first use, so
``ferlens.faces.template`` loads no dlib."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "prepare_face": "ferlens.faces.prepare",
    "FaceSettings": "ferlens.faces.prepare",
    "TemplateWarper": "ferlens.faces.warp",
    "ekman_mask": "ferlens.faces.ekman_masks",
    "au_template_mask": "ferlens.faces.au",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """``name`` of ``__all__``, imported from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ferlens.faces' has no attribute '{name}'")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
