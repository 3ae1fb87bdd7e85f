"""AffectNet (manually annotated part) in either public layout, found by ``layout="auto"``.

csv, the official release::

    Manually_Annotated_file_lists/training.csv, validation.csv
        subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal
    Manually_Annotated_Images/<subDirectory_filePath>

npy, the release of 224x224 face crops::

    train_set/images/<id>.jpg, train_set/annotations/<id>_exp.npy, <id>_lnd.npy
    val_set/...  the same

Expression codes 0 Neutral, 1 Happy, 2 Sad, 3 Surprise, 4 Fear, 5 Disgust, 6 Anger,
7 Contempt, 8 None, 9 Uncertain, 10 Non-Face (the last four outside every class set).
training/train_set -> split "train", validation/val_set -> "test" (AffectNet's test set is
not public). No subject ids. The 68 landmarks ("x1;y1;...;x68;y68" in the csv, 136 values
x1, y1, ... in ``_lnd.npy``) are taken as image pixels with pixel centres at integers and
carried unchanged; the csv box is (face_x, face_y, face_x + face_width, face_y + face_height).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ferlens.datamodules.readers import register_reader
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.readers.tables import read_text_table
from ferlens.datamodules.sources import DataError

#: AffectNet's expression codes.
LABELS = {0: "Neutral", 1: "Happy", 2: "Sad", 3: "Surprise", 4: "Fear", 5: "Disgust", 6: "Anger", 7: "Contempt", 8: "None", 9: "Uncertain", 10: "Non-Face"}
FILE_LISTS = "Manually_Annotated_file_lists"
IMAGES = "Manually_Annotated_Images"
CSV_SPLITS = {"training.csv": "train", "validation.csv": "test"}
NPY_SPLITS = {"train_set": "train", "val_set": "test"}
BOX_COLUMNS = ["face_x", "face_y", "face_width", "face_height"]
COLUMNS = ["subDirectory_filePath", *BOX_COLUMNS, "facial_landmarks", "expression"]


@register_reader("affectnet")
def read_affectnet(root: Path, class_names: list[str], layout: str = "auto") -> DatasetIndex:
    """Index AffectNet at ``root``: ``layout`` "csv" (file lists with boxes and landmarks),
    "npy" (face crops with ``.npy`` annotations) or "auto" (whichever is there, csv first)."""
    if layout == "auto":
        layout = "csv" if (root / FILE_LISTS).is_dir() else "npy" if any((root / folder).is_dir() for folder in NPY_SPLITS) else ""
        if not layout:
            raise DataError(f"No AffectNet layout found under '{root}': set data.root to the folder holding {FILE_LISTS}/ or train_set/ and val_set/.")
    if layout == "csv":
        return _read_csv_layout(root, class_names)
    if layout == "npy":
        return _read_npy_layout(root, class_names)
    raise DataError(f"AffectNet has no layout '{layout}': set layout to 'auto', 'csv' or 'npy'.")


def _read_csv_layout(root: Path, class_names: list[str]) -> DatasetIndex:
    """The file lists: one entry per row, box and landmarks from the row."""
    if not (root / IMAGES).is_dir():
        raise DataError(f"AffectNet image folder '{root / IMAGES}' not found: unpack Manually_Annotated_Images next to {FILE_LISTS}.")
    mapper = LabelMapper(class_names, LABELS)
    entries: list[DatasetEntry] = []
    missing: list[str] = []
    listings: dict[str, set[str]] = {}
    for file, split in CSV_SPLITS.items():
        path = root / FILE_LISTS / file
        frame, numbers = _load_file_list(path)
        boxes = numbers[BOX_COLUMNS].to_numpy(np.float64)
        rows = zip(frame["subDirectory_filePath"], numbers["expression"].astype(int).tolist(), frame["facial_landmarks"], strict=True)
        for row, (name, code, landmarks) in enumerate(rows):
            label = mapper(code)
            if label is None:
                continue
            points = _parse_landmarks(landmarks, path, row + 2)
            key = f"{IMAGES}/{name}"
            folder, _, file_name = key.rpartition("/")
            if folder not in listings:
                listings[folder] = set(os.listdir(root / folder)) if (root / folder).is_dir() else set()
            if file_name not in listings[folder]:
                missing.append(key)
                continue
            x, y, width, height = boxes[row].tolist()
            entries.append(DatasetEntry(key=key, label=label, path=root / key, split=split, box=(x, y, x + width, y + height), landmarks=points))
    return _index(root, class_names, entries, mapper, missing, "box")


def _load_file_list(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the file list as text, its box and expression columns as numbers), every row checked."""
    if not path.is_file():
        raise DataError(f"AffectNet file list '{path}' not found: unpack {FILE_LISTS} (training.csv and validation.csv) under the dataset folder.")
    frame = read_text_table(path)
    absent = [column for column in COLUMNS if column not in frame.columns]
    if absent:
        raise DataError(f"AffectNet file list '{path}' has no column {', '.join(absent)}: use the official file list (header {','.join(COLUMNS[:3])},...).")
    numbers = frame[[*BOX_COLUMNS, "expression"]].apply(pd.to_numeric, errors="coerce")
    bad = numbers.isna().any(axis=1) | ~numbers["expression"].isin(list(LABELS)) | (frame["subDirectory_filePath"] == "")
    bad |= frame["facial_landmarks"].str.count(";") != 135
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        text = ",".join(frame.iloc[row, :7])[:60]
        raise DataError(f"Line {row + 2} of '{path}' reads '{text}...', not a path, a box, 68 points 'x1;y1;...' and a code 0-10: fix or remove that line.")
    return frame, numbers


def _parse_landmarks(text: str, path: Path, line: int) -> np.ndarray:
    """[68, 2] float32 points from "x1;y1;...;x68;y68" (line ``line`` of ``path``)."""
    try:
        values = np.fromstring(text, dtype=np.float32, sep=";")
    except ValueError:
        values = np.empty(0, np.float32)
    if values.size != 136:
        raise DataError(f"Line {line} of '{path}' has landmarks '{text[:40]}...' that are not 136 numbers 'x1;y1;...': fix or remove that line.")
    return values.reshape(68, 2)


def _read_npy_layout(root: Path, class_names: list[str]) -> DatasetIndex:
    """The face crops: one entry per ``<id>_exp.npy`` with its ``<id>_lnd.npy``; the image is the face."""
    mapper = LabelMapper(class_names, LABELS)
    entries: list[DatasetEntry] = []
    missing: list[str] = []
    for folder, split in NPY_SPLITS.items():
        annotations = root / folder / "annotations"
        if not annotations.is_dir():
            raise DataError(f"AffectNet annotation folder '{annotations}' not found: unpack {folder} (images/ and annotations/) under the dataset folder.")
        names = set(os.listdir(annotations))
        images = set(os.listdir(root / folder / "images")) if (root / folder / "images").is_dir() else set()
        for name in sorted(names):
            if not name.endswith("_exp.npy"):
                continue
            face_id = name.removesuffix("_exp.npy")
            label = mapper(_read_code(annotations / name))
            if label is None:
                continue
            key = f"{folder}/images/{face_id}.jpg"
            if f"{face_id}.jpg" not in images:
                missing.append(key)
                continue
            if f"{face_id}_lnd.npy" not in names:
                missing.append(f"{folder}/annotations/{face_id}_lnd.npy")
                continue
            landmarks = _read_landmarks(annotations / f"{face_id}_lnd.npy")
            entries.append(DatasetEntry(key=key, label=label, path=root / key, split=split, landmarks=landmarks))
    return _index(root, class_names, entries, mapper, missing, "whole")


def _load(path: Path) -> np.ndarray:
    """A ``.npy`` array without pickles."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"AffectNet annotation '{path}' is not a readable .npy array ({error}): restore it from the dataset archive.") from None


def _read_code(path: Path) -> int:
    """The expression code in ``<id>_exp.npy`` (a numpy string such as '3', or an integer)."""
    value = _load(path)
    text = str(value.item()).strip() if value.size == 1 else ""
    if not text.isdigit() or int(text) not in LABELS:
        raise DataError(f"AffectNet annotation '{path}' holds {value.tolist()!r:.40} instead of one expression code 0-10: restore it from the dataset archive.")
    return int(text)


def _read_landmarks(path: Path) -> np.ndarray:
    """[68, 2] float32 points from the 136 values x1, y1, ... in ``<id>_lnd.npy``."""
    value = _load(path)
    try:
        points = value.astype(np.float32).reshape(68, 2)
    except ValueError:
        raise DataError(f"AffectNet landmarks '{path}' hold {value.size} values of type {value.dtype}, not 136 numbers: restore the file.") from None
    return points


def _index(root: Path, class_names: list[str], entries: list[DatasetEntry], mapper: LabelMapper, missing: list[str], detector: str) -> DatasetIndex:
    """The index, entries sorted by key (unique: one row or one annotation per image)."""
    entries.sort(key=lambda entry: entry.key)
    for previous, entry in zip(entries, entries[1:], strict=False):
        if previous.key == entry.key:
            raise DataError(f"AffectNet lists the image '{entry.key}' twice: remove the repeated row from the file list.")
    return DatasetIndex("affectnet", root, class_names, entries, mapper.dropped, sorted(missing), detector)
