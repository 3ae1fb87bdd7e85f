"""Lightning callbacks: ``GlobalSaliency`` (per-expression global heatmaps of any Lightning
project following ``callbacks.protocol``) with its accumulators and sanity passes,
checkpoints, epoch log, resume state. Names load on first use."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GlobalSaliency": "ferlens.callbacks.global_saliency",
    "ExplainedDataset": "ferlens.callbacks.protocol",
    "ITEM_KEYS": "ferlens.callbacks.protocol",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """``name`` of ``__all__``, imported from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ferlens.callbacks' has no attribute '{name}'")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
