"""FER2013 (ICML 2013 challenge), with its own labels or the FER+ relabelling::

    fer2013.csv  (or fer2013/fer2013.csv)    emotion,pixels,Usage
    fer2013new.csv  (FER+, next to fer2013.csv or in the dataset folder)
        Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF

FER2013 labels 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral; ``pixels``
2304 gray levels (48x48, row-major); Usage Training -> "train", PublicTest -> "val",
PrivateTest -> "test". FER+ has one row of ten annotators' votes per FER2013 row, in the same
order: the label is the column with the most votes; rows whose top count is shared ("tie")
or won by unknown or NF are left out, counted under those names (contempt as "Contempt").
The faces are already cropped; no subject ids, no boxes, no landmarks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ferlens.datamodules.readers import register_reader
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.readers.tables import read_text_table
from ferlens.datamodules.sources import DataError

#: FER2013's label codes.
LABELS = {0: "Angry", 1: "Disgust", 2: "Fear", 3: "Happy", 4: "Sad", 5: "Surprise", 6: "Neutral"}
USAGES = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
#: FER+ vote columns, each an expression name (contempt, unknown and NF outside every class set).
VOTES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"]
SIDE = 48


@register_reader("fer2013")
def read_fer2013(root: Path, class_names: list[str], labels: str = "fer2013") -> DatasetIndex:
    """Index FER2013 at ``root``: one entry per CSV row, its 48x48 uint8 pixels in the entry;
    ``labels`` "fer2013" (the original labels) or "ferplus" (majority of the FER+ votes)."""
    if labels not in ("fer2013", "ferplus"):
        raise DataError(f"FER2013 has no label set '{labels}': set labels to 'fer2013' (original labels) or 'ferplus' (FER+ majority votes).")
    path = next((folder / "fer2013.csv" for folder in (root, root / "fer2013") if (folder / "fer2013.csv").is_file()), None)
    if path is None:
        raise DataError(f"FER2013 file 'fer2013.csv' not found in '{root}' or its fer2013/ folder: set data.root to where fer2013.tar.gz was unpacked.")
    frame = _read_table(path, ["emotion", "pixels", "Usage"])
    splits = frame["Usage"].map(USAGES)
    codes = pd.to_numeric(frame["emotion"], errors="coerce")
    _check_rows(splits.isna() | ~codes.isin(list(LABELS)), frame, path, "an emotion 0-6 and a Usage of Training, PublicTest or PrivateTest")
    pixels = _parse_pixels(frame["pixels"].tolist(), path)
    if labels == "fer2013":
        mapper = LabelMapper(class_names, LABELS)
        raws: list[object] = codes.astype(int).tolist()
    else:
        mapper = LabelMapper(class_names, {"contempt": "Contempt"})
        raws = _ferplus_labels(root, path, frame["Usage"])
    entries = [
        DatasetEntry(key=f"fer2013.csv#{row}", label=label, pixels=pixels[row], split=split)
        for row, (raw, split) in enumerate(zip(raws, splits.tolist(), strict=True))
        if (label := mapper(raw)) is not None
    ]
    return DatasetIndex("fer2013", root, class_names, entries, mapper.dropped, [], "whole")


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    """The CSV ``path`` as text columns, with ``columns`` present."""
    frame = read_text_table(path)
    absent = [column for column in columns if column not in frame.columns]
    if absent:
        raise DataError(f"'{path}' has no column {', '.join(absent)}: use the file of the official release, whose header is {','.join(columns)}.")
    return frame


def _check_rows(bad: pd.Series, frame: pd.DataFrame, path: Path, expected: str) -> None:
    """One sentence naming the first row flagged in ``bad``, if any."""
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        text = ",".join(value[:12] for value in frame.iloc[row])
        raise DataError(f"Row {row} (line {row + 2}) of '{path}' reads '{text[:60]}' instead of {expected}: fix or remove that row.")


def _parse_pixels(texts: list[str], path: Path) -> np.ndarray:
    """[N, 48, 48] uint8 images from N strings of 2304 space-separated gray levels."""
    images = np.empty((len(texts), SIDE, SIDE), np.uint8)
    for row, text in enumerate(texts):
        try:
            values = np.fromstring(text, dtype=np.int32, sep=" ")
        except ValueError:
            values = None
        if values is None or values.size != SIDE * SIDE or values.min() < 0 or values.max() > 255:
            found = "unreadable values" if values is None else f"{values.size} values"
            raise DataError(f"Row {row} (line {row + 2}) of '{path}' has pixels that are not 2304 gray levels 0-255 (found {found}): fix or remove that row.")
        images[row] = values.reshape(SIDE, SIDE)
    return images


def _ferplus_labels(root: Path, fer2013: Path, usage: pd.Series) -> list[str]:
    """The FER+ majority label of each FER2013 row: a vote column name, or "tie"."""
    path = next((folder / "fer2013new.csv" for folder in (fer2013.parent, root) if (folder / "fer2013new.csv").is_file()), None)
    if path is None:
        raise DataError(f"FER+ file 'fer2013new.csv' not found next to '{fer2013}': download it from github.com/microsoft/FERPlus or set labels to 'fer2013'.")
    frame = _read_table(path, ["Usage", *VOTES])
    if len(frame) != len(usage):
        raise DataError(f"FER+ file '{path}' has {len(frame)} rows but '{fer2013}' has {len(usage)}: use the fer2013new.csv made for this fer2013.csv.")
    votes = frame[VOTES].apply(pd.to_numeric, errors="coerce")
    _check_rows(votes.isna().any(axis=1) | (frame["Usage"] != usage), frame, path, f"the Usage of '{fer2013}' and ten vote counts")
    counts = votes.to_numpy(np.float64)
    top = counts.max(axis=1, keepdims=True)
    tie = (counts == top).sum(axis=1) > 1
    return np.where(tie, "tie", np.array(VOTES)[counts.argmax(axis=1)]).tolist()
