"""Real datasets: a registered reader's index + the cached face preparation, as a source of
``FaceSample``s, and the factory the real-dataset configs instantiate."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import ferlens.datamodules.readers  # noqa: F401  (registers the readers)
from ferlens.datamodules.face_prep import PreparedFaceSet, prepare_faces, resolve_settings
from ferlens.datamodules.fer_datamodule import FERDataModule
from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.readers.base import DatasetEntry
from ferlens.datamodules.sources import DataError, FaceSample
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from ferlens.jobs.console_log import FILE_ONLY


class PreparedFaces:
    """Map-style source over the faces of a real dataset that face preparation kept.

    Reading the dataset's annotations happens at construction (cheap, gives
    ``class_names``); ``prepare()`` finds, crops and landmarks the faces (cached under
    ``cache_dir``; a second call is free). Items are the stored crops, uint8
    [size, size, 3], with their 68 landmarks in crop pixels.

    Args:
        reader: registered reader name (``datamodules.readers``), or a user's own reader
            (a callable: ``datamodules.readers.custom``).
        root: dataset folder, as downloaded.
        neutral: 7 classes (with Neutral) instead of 6.
        face: face-preparation settings (``configs/face``: the ``FaceSettings`` fields and
            workers).
        cache_dir: where prepared crops are kept (None: ``$FERLENS_CACHE`` or
            ``~/.cache/ferlens``).
        reader_options: the reader's own options (e.g. rafdb ``images``).
    """

    def __init__(
        self,
        reader: str | Callable[..., Any],
        root: str | Path,
        neutral: bool = False,
        face: dict | None = None,
        cache_dir: str | Path | None = None,
        **reader_options: object,
    ) -> None:
        self.index = read_dataset(reader, root, CLASSES_7 if neutral else CLASSES_6, **reader_options)
        self.class_names = self.index.class_names
        settings = dict(face or {})
        self.workers = settings.pop("workers", None)
        self.settings = resolve_settings(self.index, **settings)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else None
        self.prepared: PreparedFaceSet | None = None
        self._kept: list[DatasetEntry] = []

    def prepare(self) -> PreparedFaceSet:
        """Run (or load from the cache) the face preparation; keeps the usable faces."""
        if self.prepared is None:
            self.prepared = prepare_faces(self.index, self.settings, self.cache_dir, workers=self.workers)
            logging.getLogger(FILE_ONLY).info("%s", self.prepared.summary)  # the console shows it once, in the data summary
            self._kept = [self.index.entries[i] for i in self.prepared.usable]
            if not self._kept:
                raise DataError(
                    f"Face preparation kept none of the {len(self.index.entries)} images ({self.prepared.summary}): check face.detector and the report."
                )
        return self.prepared

    def _ready(self) -> PreparedFaceSet:
        if self.prepared is None:
            raise RuntimeError("PreparedFaces.prepare() must run before the faces are read")
        return self.prepared

    def __len__(self) -> int:
        self._ready()
        return len(self._kept)

    @property
    def labels(self) -> np.ndarray:
        """[N] int class index of every kept face."""
        self._ready()
        return np.array([e.label for e in self._kept], dtype=np.int64)

    @property
    def subjects(self) -> list[str | None]:
        self._ready()
        return [e.subject for e in self._kept]

    @property
    def official_splits(self) -> list[str] | None:
        """Per kept face its official split, or None when the dataset has none."""
        self._ready()
        return [e.split for e in self._kept] if self.index.has_official_split else None

    @property
    def paths(self) -> list[str]:
        """Per kept face the dataset key it came from (file path, ``#n`` for several per file)."""
        self._ready()
        return [e.key for e in self._kept]

    @property
    def class_drop(self) -> dict[str, dict[str, int]] | None:
        """Per class its "images", faces "prepared" and images "dropped" by face preparation
        (None before ``prepare()``)."""
        return None if self.prepared is None else self.prepared.class_counts

    def describe(self) -> str:
        """The index, the face settings and, once prepared, the summary line and the per-class
        table of images, prepared faces and drops."""
        prepared = f"; {self.prepared.summary}\n{self.prepared.class_table()}" if self.prepared is not None else ""
        return f"{self.index.describe()}; faces: detector {self.settings.detector}, landmarks {self.settings.landmarks}{prepared}"

    def __getitem__(self, index: int) -> FaceSample:
        prepared = self._ready()
        entry = self._kept[index]
        crop, points = prepared.load(int(prepared.usable[index]))
        return FaceSample(image=crop, label=entry.label, subject=entry.subject or "", landmarks=points)


def prepared_datamodule(
    reader: str | Callable[..., Any], root: str, neutral: bool = False, face: dict | None = None, cache_dir: str | None = None, **options: object
) -> FERDataModule:
    """A ``FERDataModule`` over ``PreparedFaces``: the keys of the real-dataset configs that
    ``FERDataModule`` takes go to it (split, fold, batch size, ...); the others are the
    reader's own options."""
    accepted = set(inspect.signature(FERDataModule).parameters) - {"source"}
    module_options = {key: value for key, value in options.items() if key in accepted}
    reader_options = {key: value for key, value in options.items() if key not in accepted}
    source = PreparedFaces(reader, root, neutral, face, cache_dir, **reader_options)
    return FERDataModule(source, **module_options)
