"""Dataset sources: what a reader yields, and the image-folder reader for real datasets.

A source is a map-style collection with ``class_names``, ``labels`` ([N] int),
``subjects`` (N str), ``describe()`` and ``__getitem__(i) -> FaceSample``.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from formats.expressions import CLASSES_6, CLASSES_7
from formats.images import read_image
from user_errors import UserError

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


class ImageFolderFaces:
    """Images in ``root/<Class>/...`` (any depth below the class folder), one folder per
    expression named as in the class list (case-insensitive).

    Args:
        root: dataset folder.
        neutral: expect a ``Neutral`` folder too (7 classes).
        subject_pattern: regex applied to the file name; its first group is the subject
            id (default: the part before the first ``_``; the whole stem when no match).
    """

    def __init__(self, root: str | Path, neutral: bool = False, subject_pattern: str = r"^([^_]+)_") -> None:
        self.root = Path(root).expanduser()
        self.class_names = CLASSES_7 if neutral else CLASSES_6
        if not self.root.is_dir():
            expected = ", ".join(self.class_names)
            raise DataError(f"Data folder '{self.root}' does not exist: set data.source.root to a folder with one sub-folder per expression ({expected}).")
        folders = {p.name.lower(): p for p in self.root.iterdir() if p.is_dir()}
        pattern = re.compile(subject_pattern)
        files: list[tuple[Path, int]] = []
        for label, name in enumerate(self.class_names):
            folder = folders.get(name.lower())
            if folder is not None:
                files += [(p, label) for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
        if not files:
            raise DataError(f"No images found under '{self.root}': expected sub-folders named {', '.join(self.class_names)} holding image files.")
        with ThreadPoolExecutor() as pool:
            readable = list(pool.map(_is_readable, [p for p, _ in files]))
        self.skipped = [str(p) for (p, _), ok in zip(files, readable, strict=True) if not ok]
        kept = [(p, label) for (p, label), ok in zip(files, readable, strict=True) if ok]
        if not kept:
            raise DataError(f"None of the {len(files)} image files under '{self.root}' could be read: check that they are valid images.")
        self.paths = [p for p, _ in kept]
        self._labels = np.array([label for _, label in kept], dtype=np.int64)
        self._subjects = [_subject(p, pattern) for p in self.paths]

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def subjects(self) -> list[str]:
        return self._subjects

    def describe(self) -> str:
        skipped = f", skipped {len(self.skipped)} unreadable" if self.skipped else ""
        return f"image folder {self.root} ({len(self.paths)} images, {len(set(self._subjects))} subjects{skipped})"

    def __getitem__(self, index: int) -> FaceSample:
        image = read_image(self.paths[index])
        if image is None:
            raise DataError(f"Image '{self.paths[index]}' became unreadable during the run: check the file.")
        return FaceSample(image=image, label=int(self._labels[index]), subject=self._subjects[index])


def _is_readable(path: Path) -> bool:
    return read_image(path) is not None


def _subject(path: Path, pattern: re.Pattern[str]) -> str:
    match = pattern.search(path.name)
    return match.group(1) if match else path.stem
