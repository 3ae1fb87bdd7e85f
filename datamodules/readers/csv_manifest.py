"""Any dataset listed in a CSV manifest (header required, column names any case)::

    path,label[,subject][,split][,x0..x67,y0..y67][,left,top,right,bottom]

``path``: image file, relative to ``root`` or absolute. ``label``: an expression name (any
synonym: ``angry``, ``Happiness``, ``SU``...) or an integer index into the canonical seven
(``formats.expressions.CLASSES_7``: 0 Anger ... 5 Surprise, 6 Neutral; the six-class list
is its prefix). ``subject``: person id (empty = unknown). ``split``: train, val or test.
``x0..x67,y0..y67``: the 68 iBUG/dlib points in image pixels, pixel centres at integers
from 0 (all 136 columns or none; a row may leave all of them empty). ``left,top,right,
bottom``: the face box in image pixels (all four columns or none; then every row has one).
A path listed more than once (several faces in one image) gets keys ``path#1``, ``path#2``...
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from ferlens.datamodules.readers import register_reader
from ferlens.datamodules.readers.base import SPLITS, DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_7

REQUIRED = ("path", "label")
LANDMARK_COLUMNS = tuple(f"x{i}" for i in range(68)) + tuple(f"y{i}" for i in range(68))
BOX_COLUMNS = ("left", "top", "right", "bottom")
KNOWN = set(REQUIRED) | {"subject", "split"} | set(LANDMARK_COLUMNS) | set(BOX_COLUMNS)


class _RowError(ValueError):
    """What is wrong with one manifest row (completes "Row N of manifest M ...")."""


@register_reader("csv")
def read_csv_manifest(root: Path, class_names: list[str], manifest: str = "labels.csv") -> DatasetIndex:
    """Index the faces listed in ``manifest`` (relative to ``root`` or absolute)."""
    file = Path(manifest).expanduser()
    file = file if file.is_absolute() else root / file
    if not file.is_file():
        raise DataError(f"Manifest '{file}' does not exist: set the csv reader's manifest option to a CSV file with columns path,label.")
    mapper = LabelMapper(class_names)
    rows: list[tuple[int, dict[str, str]]] = []
    with open(file, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip().lower() for name in next(reader, [])]
            columns = _check_header(file, header)
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(header):
                    raise DataError(f"Row {reader.line_num} of manifest '{file}' has {len(values)} fields but the header has {len(header)}: fix that row.")
                rows.append((reader.line_num, dict(zip(header, (v.strip() for v in values), strict=True))))
        except csv.Error as error:
            raise DataError(f"Manifest '{file}' is not valid CSV at line {reader.line_num} ({error}): fix that line.") from None
    listed: list[DatasetEntry] = []
    for line, row in rows:
        try:
            fields = _fields(root, row, columns)
            label = _label(row["label"], mapper)
        except _RowError as error:
            raise DataError(f"Row {line} of manifest '{file}' {error}: fix or remove that row.") from None
        if label is not None:
            listed.append(DatasetEntry(label=label, **fields))
    repeated = Counter(entry.key for entry in listed)
    seen: Counter = Counter()
    entries: list[DatasetEntry] = []
    missing: list[str] = []
    for entry in listed:
        if repeated[entry.key] > 1:
            seen[entry.key] += 1
            entry.key = f"{entry.key}#{seen[entry.key]}"
        if entry.path.is_file():
            entries.append(entry)
        else:
            missing.append(entry.key)
    notes = []
    ignored = [name for name in header if name not in KNOWN]
    if ignored:
        notes.append(f"manifest columns ignored: {', '.join(ignored)}")
    entries.sort(key=lambda e: e.key)
    detector = "box" if "left" in columns else "dlib"
    return DatasetIndex("csv", root, list(class_names), entries, mapper.dropped, sorted(missing), detector, notes)


def _check_header(file: Path, header: list[str]) -> set[str]:
    """The known columns of ``header``; one sentence for a missing, doubled or partial group."""
    absent = [name for name in REQUIRED if name not in header]
    if absent:
        raise DataError(f"Manifest '{file}' has no column {', '.join(absent)} in its header: its first line must name the columns, at least path,label.")
    doubled = sorted({name for name in header if header.count(name) > 1})
    if doubled:
        raise DataError(f"Manifest '{file}' names the column {', '.join(doubled)} twice in its header: keep one.")
    for group, what in ((LANDMARK_COLUMNS, "landmark columns x0..x67,y0..y67"), (BOX_COLUMNS, "box columns left,top,right,bottom")):
        lacking = [name for name in group if name not in header]
        if 0 < len(lacking) < len(group):
            raise DataError(f"Manifest '{file}' has only some of the {what} (missing {', '.join(lacking[:4])}): give all of them or none.")
    return set(header) & KNOWN


def _label(text: str, mapper: LabelMapper) -> int | None:
    if not text:
        raise _RowError("has an empty label")
    if text.isdigit():
        if int(text) >= len(CLASSES_7):
            raise _RowError(f"has label {text}, but an integer label is an index 0-{len(CLASSES_7) - 1} into {', '.join(CLASSES_7)}")
        text = CLASSES_7[int(text)]
    return mapper(text)


def _fields(root: Path, row: dict[str, str], columns: set[str]) -> dict[str, object]:
    """The row's ``DatasetEntry`` fields but the label; ``_RowError`` when a value is malformed."""
    if not row["path"]:
        raise _RowError("has an empty path")
    listed = Path(row["path"]).expanduser()
    path = listed if listed.is_absolute() else root / listed
    key = path.relative_to(root).as_posix() if path.is_relative_to(root) else listed.as_posix()
    split = row.get("split", "").lower() or None
    if "split" in columns and split not in SPLITS:
        raise _RowError(f"has split '{row['split']}' instead of {', '.join(SPLITS)}")
    landmarks = None
    if "x0" in columns and any(row[name] for name in LANDMARK_COLUMNS):
        values = _numbers(row, LANDMARK_COLUMNS)
        landmarks = np.stack([values[:68], values[68:]], axis=1).astype(np.float32)
    box = None
    if "left" in columns:
        left, top, right, bottom = (float(v) for v in _numbers(row, BOX_COLUMNS))
        if not (right > left and bottom > top):
            raise _RowError(f"has box left {left:g}, top {top:g}, right {right:g}, bottom {bottom:g}, which is not right > left and bottom > top")
        box = (left, top, right, bottom)
    return {"key": key, "path": path, "subject": row.get("subject") or None, "split": split, "box": box, "landmarks": landmarks}


def _numbers(row: dict[str, str], names: tuple[str, ...]) -> np.ndarray:
    """The float64 values of columns ``names``; ``_RowError`` naming the first bad one."""
    values = []
    for name in names:
        try:
            value = float(row[name])
        except ValueError:
            raise _RowError(f"has {name} '{row[name]}', which is not a number (give all of {names[0]}..{names[-1]} or leave them all empty)") from None
        if not np.isfinite(value):
            raise _RowError(f"has {name} '{row[name]}', which is not a finite number")
        values.append(value)
    return np.array(values)
