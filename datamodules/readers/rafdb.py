"""RAF-DB (Real-world Affective Faces Database, basic emotions) in its official layout::

    basic/EmoLabel/list_patition_label.txt              lines "<name> <label>", e.g. "train_00001.jpg 5"
    basic/Image/aligned/<stem>_aligned.jpg              100x100 aligned faces (images="aligned")
    basic/Image/original/<name>                         the full images (images="original")
    basic/Annotation/boundingbox/<stem>_boundingbox.txt "x1 y1 x2 y2": the face box in the original

Labels 1 Surprise, 2 Fear, 3 Disgust, 4 Happiness, 5 Sadness, 6 Anger, 7 Neutral. The
official split is the name's prefix (``train_``/``test_``). No subject ids and no 68
landmarks (the five points of ``basic/Annotation/auto`` are not used). Boxes are carried as
written: (x1, y1, x2, y2) = (left, top, right, bottom) in original-image pixels.
"""

from __future__ import annotations

import os
from pathlib import Path

from ferlens.datamodules.readers import register_reader
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.sources import DataError

#: RAF-DB's label codes.
LABELS = {1: "Surprise", 2: "Fear", 3: "Disgust", 4: "Happiness", 5: "Sadness", 6: "Anger", 7: "Neutral"}
LABEL_LIST = "basic/EmoLabel/list_patition_label.txt"
BOXES = "basic/Annotation/boundingbox"
SPLITS = {"train_": "train", "test_": "test"}


@register_reader("rafdb")
def read_rafdb(root: Path, class_names: list[str], images: str = "aligned") -> DatasetIndex:
    """Index RAF-DB basic at ``root``: ``images="aligned"`` the 100x100 aligned faces (used
    whole), ``"original"`` the full images with the dataset's face boxes."""
    if images not in ("aligned", "original"):
        raise DataError(f"RAF-DB has no image set '{images}': set images to 'aligned' (100x100 aligned faces) or 'original' (full images with boxes).")
    label_list = root / LABEL_LIST
    if not label_list.is_file():
        raise DataError(f"RAF-DB label list '{label_list}' not found: set data.root to the RAF-DB folder that holds {LABEL_LIST}.")
    folder = f"basic/Image/{images}"
    if not (root / folder).is_dir():
        raise DataError(f"RAF-DB image folder '{root / folder}' not found: unpack the {images} images there or choose the other image set.")
    present = set(os.listdir(root / folder))
    mapper = LabelMapper(class_names, LABELS)
    entries: list[DatasetEntry] = []
    missing: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(label_list.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        name, code, split = _parse_line(line, label_list, number)
        if name in seen:
            raise DataError(f"Line {number} of '{label_list}' lists '{name}' a second time: remove the repeated line.")
        seen.add(name)
        label = mapper(code)
        if label is None:
            continue
        stem = name.rsplit(".", 1)[0]
        file = f"{stem}_aligned.jpg" if images == "aligned" else name
        if file not in present:
            missing.append(f"{folder}/{file}")
            continue
        box = None
        if images == "original":
            box_file = f"{BOXES}/{stem}_boundingbox.txt"
            box = _read_box(root / box_file)
            if box is None:
                missing.append(box_file)
                continue
        entries.append(DatasetEntry(key=f"{folder}/{file}", label=label, path=root / folder / file, split=split, box=box))
    entries.sort(key=lambda entry: entry.key)
    detector = "whole" if images == "aligned" else "box"
    return DatasetIndex("rafdb", root, class_names, entries, mapper.dropped, sorted(missing), detector)


def _parse_line(line: str, path: Path, number: int) -> tuple[str, int, str]:
    """(image name, label code 1-7, split) of one line of the label list."""
    fields = line.split()
    split = next((split for prefix, split in SPLITS.items() if fields and fields[0].startswith(prefix)), None)
    if len(fields) != 2 or split is None or not fields[1].isdigit() or int(fields[1]) not in LABELS:
        raise DataError(f"Line {number} of '{path}' reads '{line.strip()[:60]}' instead of '<train_|test_ name> <label 1-7>': fix or remove that line.")
    return fields[0], int(fields[1]), split


def _read_box(path: Path) -> tuple[float, float, float, float] | None:
    """(left, top, right, bottom) in pixels from a box file's first line, None when the file is absent."""
    try:
        line = path.read_text().split("\n", 1)[0]
    except FileNotFoundError:
        return None
    try:
        left, top, right, bottom = (float(value) for value in line.split())
    except ValueError:
        raise DataError(f"Line 1 of '{path}' reads '{line.strip()[:60]}' instead of four numbers 'x1 y1 x2 y2': fix the box file.") from None
    return left, top, right, bottom
