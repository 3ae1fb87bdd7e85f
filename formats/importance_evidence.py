"""The per-image evidence of a region-importance pass (``importance/<name>/``): for every
explained image, the target class' probability and logit of the image, of the image with each
face region imputed and of each area-matched control (``evaluation.region_importance.intervention``).

Files: ``importance.npz`` (the arrays of ``ImportanceEvidence``) and ``manifest.json`` (the
run, the weights, the settings, the regions, the sha256 of ``importance.npz``, and its own
signature, as the heatmap artifact's: ``formats.heatmap_artifact.manifest_signature``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ferlens.formats.heatmap_artifact import SIGNATURE_KEY, manifest_signature, sign_manifest
from ferlens.formats.manifest import CorruptArtifactError

IMPORTANCE_FILE = "importance.npz"
IMPORTANCE_MANIFEST = "manifest.json"
IMPORTANCE_VERSION = 1
#: array name -> (dtype, trailing shape key: "" one value, "R" per region, "RD" per region and draw)
_ARRAYS = {
    "index": (np.int64, ""),
    "target": (np.int64, ""),
    "label": (np.int64, ""),
    "prediction": (np.int64, ""),
    "original": (np.float64, ""),
    "original_logit": (np.float64, ""),
    "probability": (np.float64, "R"),
    "logit": (np.float64, "R"),
    "control_probability": (np.float64, "RD"),
    "control_logit": (np.float64, "RD"),
    "area": (np.int64, "R"),
}


@dataclass
class ImportanceEvidence:
    """N images, R regions, D control draws: ``index`` [N] source index, ``target`` / ``label``
    / ``prediction`` [N] class indices (target: the class whose probability is measured),
    ``subject`` / ``name`` [N] str, ``original`` / ``original_logit`` [N], ``probability`` /
    ``logit`` [N, R] (region imputed; NaN for a region outside the image), ``control_probability``
    / ``control_logit`` [N, R, D], ``area`` [N, R] region pixels; ``manifest`` the JSON entries
    (``run``, ``weights``, ``settings``, ``classes``, ``regions``)."""

    regions: tuple[str, ...]
    classes: list[str]
    index: np.ndarray
    target: np.ndarray
    label: np.ndarray
    prediction: np.ndarray
    subject: np.ndarray
    name: np.ndarray
    original: np.ndarray
    original_logit: np.ndarray
    probability: np.ndarray
    logit: np.ndarray
    control_probability: np.ndarray
    control_logit: np.ndarray
    area: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def drop(self) -> np.ndarray:
        """[N, R] original - region-imputed target probability."""
        return self.original[:, None] - self.probability

    @property
    def control_drop(self) -> np.ndarray:
        """[N, R] the mean drop over the control draws of each region."""
        return self.original[:, None] - self.control_probability.mean(axis=2)

    @property
    def logit_drop(self) -> np.ndarray:
        """[N, R] original - region-imputed target logit."""
        return self.original_logit[:, None] - self.logit

    @property
    def control_logit_drop(self) -> np.ndarray:
        """[N, R] the mean logit drop over the control draws."""
        return self.original_logit[:, None] - self.control_logit.mean(axis=2)

    @property
    def excess(self) -> np.ndarray:
        """[N, R] drop - control drop: what a region matters beyond any patch of its size."""
        return self.drop - self.control_drop


def write_importance(directory: str | Path, evidence: ImportanceEvidence) -> Path:
    """Write ``importance.npz`` and the signed ``manifest.json`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.asarray(getattr(evidence, name), dtype=dtype) for name, (dtype, _) in _ARRAYS.items()}
    np.savez_compressed(directory / IMPORTANCE_FILE, subject=np.asarray(evidence.subject, dtype=str), name=np.asarray(evidence.name, dtype=str), **arrays)
    manifest = {
        **evidence.manifest,
        "version": IMPORTANCE_VERSION,
        "classes": list(evidence.classes),
        "regions": list(evidence.regions),
        "images": len(evidence.index),
        "sha256": {IMPORTANCE_FILE: hashlib.sha256((directory / IMPORTANCE_FILE).read_bytes()).hexdigest()},
    }
    (directory / IMPORTANCE_MANIFEST).write_text(json.dumps(sign_manifest(manifest), sort_keys=True, indent=1))
    return directory


def read_importance(directory: str | Path) -> ImportanceEvidence:
    """The evidence of ``directory``, verified: a missing, edited or damaged file raises
    ``CorruptArtifactError`` in one sentence."""
    directory = Path(directory)
    manifest_path = directory / IMPORTANCE_MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CorruptArtifactError(
            f"The region-importance manifest '{manifest_path}' cannot be read ({error}): run the pass again (+importance=au_regions)."
        ) from error
    if manifest.get(SIGNATURE_KEY) != manifest_signature(manifest) or manifest.get("version") != IMPORTANCE_VERSION:
        raise CorruptArtifactError(
            f"The region-importance manifest '{manifest_path}' was edited or is of another version: run the pass again (+importance=au_regions)."
        )
    path = directory / IMPORTANCE_FILE
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != manifest.get("sha256", {}).get(IMPORTANCE_FILE):
        raise CorruptArtifactError(
            f"The region-importance file '{path}' is missing or does not match its manifest: run the pass again (+importance=au_regions)."
        )
    with np.load(path) as data:
        arrays = {name: data[name] for name in (*_ARRAYS, "subject", "name")}
    regions, count = tuple(manifest["regions"]), int(manifest["images"])
    for name, (_, trailing) in _ARRAYS.items():
        leading = arrays[name].shape[: 1 + len(trailing)]
        if leading[:1] != (count,) or (trailing and leading[1] != len(regions)):
            raise CorruptArtifactError(
                f"The region-importance file '{path}' holds {name} of shape {arrays[name].shape} for {count} images and {len(regions)} regions: "
                "run the pass again (+importance=au_regions)."
            )
    manifest_entries = {k: v for k, v in manifest.items() if k not in ("sha256", SIGNATURE_KEY, "version", "images", "classes", "regions")}
    return ImportanceEvidence(regions=regions, classes=list(manifest["classes"]), manifest=manifest_entries, **arrays)
