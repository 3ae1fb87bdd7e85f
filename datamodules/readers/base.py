"""What every dataset reader returns: an index of labelled face entries, before any image
is decoded.

A reader only parses the dataset's own files (label lists, CSVs, file names); decoding,
face detection, landmarks and cropping are the face-preparation stage's job
(``datamodules.face_prep``), which uses the boxes and landmarks an entry carries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferlens.datamodules.readers.labels import canonical_expression

#: Names of official splits an entry may carry.
SPLITS = ("train", "val", "test")
#: Ways to find the face (``face.detector``).
DETECTORS = ("dlib", "box", "whole")


@dataclass
class DatasetEntry:
    """One labelled face of a dataset.

    Args:
        key: stable id, unique in the dataset (relative path; ``#<n>`` added when one file
            holds several faces or the pixels sit in an annotation file).
        label: index in the index's ``class_names``.
        path: image file, or None when the pixels come with the annotations (``pixels``).
        pixels: uint8 [H, W] or [H, W, 3] image when the dataset stores pixels in its
            annotation file (FER2013), else None.
        subject: subject (person) id, or None when the dataset has none.
        split: official split (one of ``SPLITS``) or None.
        box: the dataset's own face box (left, top, right, bottom) in image pixels, or None.
        landmarks: the dataset's own 68 points [68, 2] float32 (x, y) in image pixels,
            iBUG/dlib order, pixel centres at integers; or None.
    """

    key: str
    label: int
    path: Path | None = None
    pixels: np.ndarray | None = None
    subject: str | None = None
    split: str | None = None
    box: tuple[float, float, float, float] | None = None
    landmarks: np.ndarray | None = None


@dataclass
class DatasetIndex:
    """A reader's result.

    Args:
        name: reader name (``rafdb``...).
        root: dataset folder.
        class_names: the run's classes (6, or 7 with Neutral), canonical order.
        entries: the labelled faces, in a stable order.
        dropped: labels outside ``class_names`` by name (e.g. ``{"Contempt": 12}``).
        missing: listed files that do not exist (relative paths), never silently lost.
        default_detector: how faces are found when ``face.detector`` is null (one of
            ``DETECTORS``).
        notes: one-line remarks for the data summary (e.g. "empty class folder Disgust").
    """

    name: str
    root: Path
    class_names: list[str]
    entries: list[DatasetEntry]
    dropped: Counter = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)
    default_detector: str = "dlib"
    notes: list[str] = field(default_factory=list)

    @property
    def has_subjects(self) -> bool:
        return bool(self.entries) and all(e.subject is not None for e in self.entries)

    @property
    def has_official_split(self) -> bool:
        return bool(self.entries) and all(e.split is not None for e in self.entries)

    @property
    def has_landmarks(self) -> bool:
        return bool(self.entries) and all(e.landmarks is not None for e in self.entries)

    @property
    def has_boxes(self) -> bool:
        return bool(self.entries) and all(e.box is not None for e in self.entries)

    def class_counts(self) -> dict[str, int]:
        counts = Counter(self.class_names[e.label] for e in self.entries)
        return {name: counts.get(name, 0) for name in self.class_names}

    def describe(self) -> str:
        """One line: entries, subjects, dropped labels and missing files by name/count."""
        parts = [f"{self.name} at {self.root}: {len(self.entries)} faces"]
        if self.has_subjects:
            parts.append(f"{len({e.subject for e in self.entries})} subjects")
        if self.dropped:
            parts.append("dropped labels outside the class set: " + ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items())))
        if self.missing:
            parts.append(f"{len(self.missing)} listed files missing (e.g. {', '.join(self.missing[:3])})")
        return "; ".join(parts + self.notes)


class LabelMapper:
    """Dataset label -> class index, counting what falls outside the class set by name.

    Args:
        class_names: the run's canonical classes.
        names: optional map from the dataset's raw label (code or word) to an expression
            name; raw labels not in it go through ``canonical_expression``.
    """

    def __init__(self, class_names: list[str], names: dict[object, str] | None = None) -> None:
        self.class_names = list(class_names)
        self.names = dict(names or {})
        self.dropped: Counter = Counter()

    def __call__(self, raw: object) -> int | None:
        """The class index of ``raw``, or None (counted under its name) when outside the set."""
        name = self.names.get(raw)
        if name is None:
            name = str(raw)
        canonical = canonical_expression(name)
        if canonical is None or canonical not in self.class_names:
            self.dropped[canonical or name] += 1
            return None
        return self.class_names.index(canonical)
