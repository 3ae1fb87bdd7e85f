"""Per-image evidence of a heatmap artifact (``evidence.npz``): every explained image's
warped map on a coarse grid, with which image it is, whose face, its true and predicted
class. The artifact's per-class means rest on these images; the analysis resamples them
(bootstrap confidence intervals, split-half reliability, cluster stability).

The evidence grid is the 224 x 275 template averaged over blocks of 5 rows x 4 columns:
55 x 56 evidence pixels, each the exact mean of its 20 template pixels, so the mean of a
class's evidence maps is the pooled class heatmap. Maps are stored as float16 scaled by each
image's maximum (``scale``, float32): a map whose values are all near 1e-6 keeps three
significant digits instead of underflowing.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH
from ferlens.user_errors import UserError

EVIDENCE_FILE = "evidence.npz"
#: template pixels per evidence pixel: (rows, columns)
EVIDENCE_BLOCK = (5, 4)
EVIDENCE_HEIGHT, EVIDENCE_WIDTH = TEMPLATE_HEIGHT // EVIDENCE_BLOCK[0], TEMPLATE_WIDTH // EVIDENCE_BLOCK[1]
#: the first ferlens version whose artifacts carry per-image evidence
EVIDENCE_SINCE = "0.2.0"
#: a set without evidence: what the statistics that need it say instead of a number
NO_EVIDENCE = f"not available: re-explain with ferlens >= {EVIDENCE_SINCE} (the artifact has no per-image evidence)"
_ARRAYS = {"maps": np.float16, "scale": np.float32, "index": np.int64, "target": np.int64, "label": np.int64, "prediction": np.int64}

Grid = TypeVar("Grid")


class CorruptEvidenceError(UserError):
    """An evidence file that cannot be read or does not match its artifact."""


def pool_to_evidence(maps: Grid) -> Grid:
    """Template maps [..., 275, 224] (numpy array or torch tensor) averaged over the
    ``EVIDENCE_BLOCK`` blocks: [..., 55, 56] on the evidence grid."""
    rows, columns = EVIDENCE_BLOCK
    if tuple(maps.shape[-2:]) != (TEMPLATE_HEIGHT, TEMPLATE_WIDTH):
        raise ValueError(f"maps of shape {tuple(maps.shape)} are not on the {TEMPLATE_WIDTH}x{TEMPLATE_HEIGHT} template")
    blocks = maps.reshape(*maps.shape[:-2], EVIDENCE_HEIGHT, rows, EVIDENCE_WIDTH, columns)
    return blocks.mean(-1).mean(-2)


def pool_mask(mask: np.ndarray) -> np.ndarray:
    """A template mask (bool [275, 224]) on the evidence grid: bool [55, 56], an evidence
    pixel inside when at least half of its block is."""
    return pool_to_evidence(mask.astype(np.float32)) >= 0.5


@dataclass
class ImageEvidence:
    """The images behind an artifact, in source order.

    maps: float16 [N, 55, 56], each image's warped map / ``scale`` (so in [0, 1] for
        non-negative maps). scale: float32 [N], each map's maximum (1 for an all-zero map).
    index: int64 [N] the image's index in the data source. target: int64 [N] the class it
        was explained for (the heatmap it entered). label, prediction: int64 [N] its true and
        predicted class. subject: str [N] whose face ('' when the dataset does not say).
    name: str [N] the image's file (or 'sample <index>').
    """

    maps: np.ndarray
    scale: np.ndarray
    index: np.ndarray
    target: np.ndarray
    label: np.ndarray
    prediction: np.ndarray
    subject: np.ndarray
    name: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def values(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """float32 [n, 3080]: the chosen images' maps in saliency units, flattened."""
        return self.maps[rows].reshape(len(self.index[rows]), -1).astype(np.float32) * self.scale[rows, None]

    def subset(self, rows: np.ndarray) -> ImageEvidence:
        """The images ``rows`` (indices or a bool mask)."""
        return ImageEvidence(**{name: getattr(self, name)[rows] for name in (*_ARRAYS, "subject", "name")})

    def units(self, rows: np.ndarray, by: str) -> np.ndarray:
        """int64 [n]: the resampling unit of each chosen image, numbered 0..U-1 in order of
        subject name: its subject (``by="subjects"``; needs every subject known) or the image itself."""
        if by == "images":
            return np.arange(np.count_nonzero(rows) if rows.dtype == bool else len(rows))
        return np.unique(self.subject[rows], return_inverse=True)[1].astype(np.int64)

    def subjects_known(self) -> bool:
        return bool(len(self.subject)) and bool(np.all(self.subject != ""))

    @staticmethod
    def concatenate(parts: list[ImageEvidence]) -> ImageEvidence:
        """The images of several artifacts (e.g. the folds of one network) together."""
        return ImageEvidence(**{name: np.concatenate([getattr(part, name) for part in parts]) for name in (*_ARRAYS, "subject", "name")})


def evidence_from_maps(
    pooled: np.ndarray, index: np.ndarray, target: np.ndarray, label: np.ndarray, prediction: np.ndarray, subject: list[str], name: list[str]
) -> ImageEvidence:
    """Evidence from maps already on the evidence grid (float [N, 55, 56]), scaled and cast to float16."""
    pooled = np.asarray(pooled, np.float32)
    peak = np.abs(pooled).reshape(len(pooled), -1).max(axis=1, initial=0.0)
    scale = np.where(peak > 0, peak, 1.0).astype(np.float32)
    order = np.argsort(index, kind="stable")
    return ImageEvidence(
        maps=(pooled / scale[:, None, None]).astype(np.float16)[order],
        scale=scale[order],
        index=np.asarray(index, np.int64)[order],
        target=np.asarray(target, np.int64)[order],
        label=np.asarray(label, np.int64)[order],
        prediction=np.asarray(prediction, np.int64)[order],
        subject=np.asarray(subject, dtype=str)[order],
        name=np.asarray(name, dtype=str)[order],
    )


def write_evidence(path: str | Path, evidence: ImageEvidence) -> Path:
    """Write ``evidence`` as a compressed npz of plain arrays (no pickle); returns the path."""
    path = Path(path)
    np.savez_compressed(path, **{name: getattr(evidence, name) for name in (*_ARRAYS, "subject", "name")})
    return path


def read_evidence(path: str | Path, classes: Sequence[str], counts: Mapping[str, int]) -> ImageEvidence:
    """Read and check ``evidence.npz`` against its artifact's ``classes`` and ``counts`` (the
    manifest's: images per class); anything unreadable or inconsistent raises
    ``CorruptEvidenceError`` in one sentence."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in (*_ARRAYS, "subject", "name")}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise CorruptEvidenceError(f"'{path}' cannot be read as per-image evidence ({error}): the artifact is damaged, write it again.") from error
    n = len(arrays["index"])
    wrong = [name for name, dtype in _ARRAYS.items() if arrays[name].dtype != dtype or len(arrays[name]) != n]
    wrong += [name for name in ("subject", "name") if arrays[name].dtype.kind != "U" or len(arrays[name]) != n]
    if arrays["maps"].shape[1:] != (EVIDENCE_HEIGHT, EVIDENCE_WIDTH):
        wrong.append(f"maps of shape {arrays['maps'].shape}")
    if wrong:
        raise CorruptEvidenceError(f"'{path}' has malformed arrays ({', '.join(wrong)}): the artifact is damaged, write it again.")
    if not (np.isfinite(arrays["maps"]).all() and np.isfinite(arrays["scale"]).all()):
        raise CorruptEvidenceError(f"'{path}' holds non-finite maps: the artifact is damaged, write it again.")
    evidence = ImageEvidence(**arrays)
    per_class = np.bincount(evidence.target, minlength=len(classes)) if n else np.zeros(len(classes), int)
    if len(per_class) != len(classes) or any(int(per_class[c]) != int(counts[name]) for c, name in enumerate(classes)):
        found = dict(zip(classes, per_class.tolist(), strict=False))
        raise CorruptEvidenceError(f"'{path}' holds {found} images per class but the manifest counts {counts}: the artifact is inconsistent, write it again.")
    return evidence
