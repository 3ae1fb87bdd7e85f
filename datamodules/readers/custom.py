"""A user's own dataset reader by ``_target_`` (``data=custom data.reader._target_=my_lab.readers.read_faces``).

The contract. A reader is any callable (a function, or a class whose instances iterate),
importable from the user's own folder or package (``PYTHONPATH``), called with ``root`` (the
``data.root`` folder) when it takes it and with the other ``data.reader.*`` keys. It returns (or
yields) one record per face: a mapping, or an object with these attributes:

- ``image``: the image file (absolute, or relative to ``root``), or its pixels, uint8 [H, W] or
  [H, W, 3] RGB;
- ``label``: the expression's name in any of the aliases ferlens knows (``happy``, ``Happiness``,
  ``HAP``...); other labels are dropped and counted by name;
- optional ``subject`` (person id: subject-independent folds), ``split`` (``train``, ``val``,
  ``test``: the official split), ``box`` (left, top, right, bottom in image pixels),
  ``landmarks`` ([68, 2] x, y image pixels, iBUG/dlib order), ``key`` (a unique id; default the
  file path or ``#<n>``).

Face preparation then runs as for the built-in readers (``face.detector=box`` uses the boxes,
``face.landmarks=dataset`` the landmarks). A reader may also return a ``DatasetIndex`` itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ferlens.datamodules.readers.base import SPLITS, DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.sources import DataError

#: The record fields a reader gives (``image`` and ``label`` required).
FIELDS = ("image", "label", "subject", "split", "box", "landmarks", "key")


def reader_name(reader: Callable[..., Any]) -> str:
    """``module.qualname`` of a reader (of Hydra's partial: of its function)."""
    func = getattr(reader, "func", reader)
    return f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', type(func).__name__)}".lstrip(".")


def read_with(reader: Callable[..., Any], root: Path, class_names: list[str], **options: Any) -> DatasetIndex:
    """The ``DatasetIndex`` of the records ``reader(root, **options)`` yields (``root`` passed
    only when the reader takes it), labels mapped to ``class_names`` through the aliases."""
    name = reader_name(reader)
    try:
        parameters = inspect.signature(reader).parameters
    except (TypeError, ValueError):
        parameters = {}
    takes_root = "root" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    records = reader(root=root, **options) if takes_root else reader(**options)
    if isinstance(records, DatasetIndex):
        return records
    if not isinstance(records, Iterable) or isinstance(records, str | bytes | Mapping):
        raise DataError(f"data.reader {name} returned a {type(records).__name__}, not records: return or yield one record (mapping or object) per face.")
    labels = LabelMapper(class_names)
    entries: list[DatasetEntry] = []
    missing: list[str] = []
    for number, record in enumerate(records):
        entry = _entry(record, number, name, root, labels, missing)
        if entry is not None:
            entries.append(entry)
    return DatasetIndex(name=name, root=root, class_names=list(class_names), entries=entries, dropped=labels.dropped, missing=missing)


def _field(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, Mapping) else getattr(record, key, None)


def _entry(record: Any, number: int, name: str, root: Path, labels: LabelMapper, missing: list[str]) -> DatasetEntry | None:
    """One record as a ``DatasetEntry``; None for a label outside the classes (counted) or a missing file (listed)."""
    image, label = _field(record, "image"), _field(record, "label")
    if image is None or label is None:
        absent = "image" if image is None else "label"
        fix = "give every record an image (a path or pixels) and a label (an expression name)"
        raise DataError(f"Record {number} of data.reader {name} has no {absent}: {fix}.")
    index = labels(str(label))
    if index is None:
        return None
    path, pixels = None, None
    if isinstance(image, str | Path):
        path = Path(image) if Path(image).is_absolute() else root / image
        if not path.is_file():
            missing.append(str(path))
            return None
    else:
        pixels = np.asarray(image)
        if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
            got = f"{pixels.dtype} {list(pixels.shape)}"
            raise DataError(f"Record {number} of data.reader {name} has an image {got}: give uint8 pixels [H, W] or [H, W, 3] RGB, or a file path.")
    landmarks = _field(record, "landmarks")
    if landmarks is not None:
        landmarks = np.asarray(landmarks, np.float32)
        if landmarks.shape != (68, 2):
            got = list(landmarks.shape)
            raise DataError(f"Record {number} of data.reader {name} has landmarks {got}: give 68 (x, y) points [68, 2] in image pixels, or none.")
    split, box, subject = _field(record, "split"), _field(record, "box"), _field(record, "subject")
    if split is not None and split not in SPLITS:
        raise DataError(f"Record {number} of data.reader {name} has split '{split}': use one of {', '.join(SPLITS)}, or none.")
    key = _field(record, "key") or (str(path.relative_to(root)) if path is not None and path.is_relative_to(root) else (str(path) if path else f"#{number}"))
    return DatasetEntry(
        key=str(key),
        label=index,
        path=path,
        pixels=pixels,
        subject=None if subject is None else str(subject),
        split=split,
        box=None if box is None else tuple(float(v) for v in box),
        landmarks=landmarks,
    )
