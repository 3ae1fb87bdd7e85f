"""Face preparation's cache entries: one uncompressed ``.npz`` per image under
``<settings digest>/<2 hex>/<entry digest>.npz`` (crop, landmarks, box, crop affine, status,
face count and the report's details as JSON), written atomically and read back whole."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ferlens.faces.prepare import STATUSES, USABLE, PreparedFace

#: Version of the entry layout; part of the settings digest.
CACHE_FORMAT = 4  # 4: rescue and points outside (3: details and affine; 2: crops raw; 1: PNG-encoded)
_FIELDS = ("status", "faces", "box", "points", "crop", "affine", "details")
#: Per-image details of the report, besides status, box and face count (``PreparedFace`` fields).
DETAILS = ("step", "rescue", "seen_by", "pad", "outside", "image_side", "shape_residual", "refit_shift", "box_follow", "face_score")
MEASURES = ("shape_residual", "refit_shift", "box_follow", "face_score")  # faces.plausibility, NaN (None in JSON) when not measured
NO_DETAILS = {"step": "", "rescue": "", "seen_by": "-", "pad": 0, "outside": 0, "image_side": 0}
NO_DETAILS |= dict.fromkeys(MEASURES)

Box = tuple[float, float, float, float]


class DamagedEntry(Exception):
    """A cache entry that exists but cannot be read back whole."""


def entry_key(content: str, box: Box | None, landmarks: np.ndarray | None) -> str:
    """sha256 (hex) of an image's content hash and its dataset box and landmarks."""
    digest = hashlib.sha256(content.encode())
    digest.update(b"box:" + (b"-" if box is None else np.asarray(box, np.float64).tobytes()))
    digest.update(b"landmarks:" + (b"-" if landmarks is None else np.asarray(landmarks, np.float32).tobytes()))
    return digest.hexdigest()


def pixels_hash(pixels: np.ndarray) -> str:
    digest = hashlib.sha256(f"{pixels.dtype.str}{pixels.shape}".encode())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


def entry_file(folder: Path, key: str) -> Path:
    return folder / key[:2] / f"{key}.npz"


def write_entry(file: Path, face: PreparedFace, details: dict) -> tuple[int, int]:
    """Store ``face`` and its ``details`` at ``file`` atomically; returns the file's (size, mtime_ns)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    if face.usable:
        crop, points, affine = face.crop, face.points, face.affine
    else:
        crop, points, affine = np.zeros((0, 0, 3), np.uint8), np.full((68, 2), np.nan, np.float32), np.full((2, 3), np.nan)
    box = np.full(4, np.nan) if face.box is None else np.asarray(face.box, np.float64)
    descriptor, temporary = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(
                handle, status=np.array(face.status), faces=np.array(face.face_count), box=box, points=points, crop=crop, affine=affine,
                details=np.array(json.dumps(details, sort_keys=True)),
            )  # fmt: skip
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    stat = file.stat()
    return stat.st_size, stat.st_mtime_ns


def read_entry(file: Path) -> tuple[str, int, Box | None, dict, tuple[int, int]]:
    """(status, faces, box, details, (size, mtime_ns)) of a whole, well-formed cache entry;
    raises FileNotFoundError when there is none and ``DamagedEntry`` when it is damaged."""
    stat = file.stat()
    try:
        with np.load(file, allow_pickle=False) as stored:
            if sorted(stored.files) != sorted(_FIELDS):
                raise ValueError(f"fields {sorted(stored.files)}")
            status, faces, box, points, crop, affine, details = (stored[name] for name in _FIELDS)  # reading checks the zip CRCs
        status = str(status)
        details = json.loads(str(details))
        usable = status in USABLE
        well_formed = (
            status in STATUSES
            and faces.shape == ()
            and box.shape == (4,)
            and points.shape == (68, 2)
            and points.dtype == np.float32
            and crop.dtype == np.uint8
            and crop.ndim == 3
            and crop.shape[2] == 3
            and (crop.size > 0) == usable
            and affine.shape == (2, 3)
            and isinstance(details, dict)
            and sorted(details) == sorted(DETAILS)
        )
        if not well_formed:
            raise ValueError("wrong fields")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DamagedEntry(str(error)) from error
    box_tuple = None if np.isnan(box).any() else tuple(float(v) for v in box)
    return status, int(faces), box_tuple, details, (stat.st_size, stat.st_mtime_ns)
