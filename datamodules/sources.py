"""Dataset sources: the sample they yield and the data error.

A source is a map-style collection with ``class_names``, ``labels`` ([N] int),
``subjects`` (N str, or None where a dataset has no subject ids), ``describe()`` and
``__getitem__(i) -> FaceSample``; optionally ``official_splits`` (N of train/val/test),
``paths`` (N names for messages) and ``prepare()`` (run once before reading, e.g. the face
preparation of ``datamodules.prepared.PreparedFaces``). Sources: ``SyntheticFaces``
(``datamodules.synthetic``), ``PreparedFaces`` (real datasets, ``datamodules.readers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferlens.user_errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


class DataError(UserError):
    """A problem with the user's data, stated in one sentence that names the fix."""


@dataclass
class FaceSample:
    """One raw sample: ``image`` uint8 [H, W] or [H, W, C] RGB(A); ``landmarks`` [68, 2]
    float32 in image pixels (pixel centres at integers; NaN when unknown)."""

    image: np.ndarray
    label: int
    subject: str
    landmarks: np.ndarray = field(default_factory=lambda: np.full((68, 2), np.nan, np.float32))
