"""ExpW (Expression in-the-Wild) in its official layout::

    label/label.lst          lines "image_name face_id top left right bottom confidence label"
    image/origin/<image_name>

Labels 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral. An image may hold
several faces, one line each: the key is ``<image_name>#<face_id>``. The box of the line
(note its order: top, left, right, bottom) becomes (left, top, right, bottom) in image
pixels, values unchanged. No subject ids, no official split, no landmarks.
"""

from __future__ import annotations

import os
from pathlib import Path

from ferlens.datamodules.readers import register_reader
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.sources import DataError

#: ExpW's label codes.
LABELS = {0: "angry", 1: "disgust", 2: "fear", 3: "happy", 4: "sad", 5: "surprise", 6: "neutral"}
LABEL_LIST = "label/label.lst"
IMAGES = "image/origin"


@register_reader("expw")
def read_expw(root: Path, class_names: list[str], min_confidence: float = 0.0) -> DatasetIndex:
    """Index ExpW at ``root``, one entry per labelled face; faces whose detection confidence
    is below ``min_confidence`` are left out (counted in the notes)."""
    label_list = root / LABEL_LIST
    if not label_list.is_file():
        raise DataError(f"ExpW label list '{label_list}' not found: set data.root to the ExpW folder that holds {LABEL_LIST} and {IMAGES}/.")
    if not (root / IMAGES).is_dir():
        raise DataError(f"ExpW image folder '{root / IMAGES}' not found: unpack the origin images there.")
    present = set(os.listdir(root / IMAGES))
    mapper = LabelMapper(class_names, LABELS)
    faces: list[tuple[str, int, DatasetEntry]] = []
    missing: set[str] = set()
    seen: set[tuple[str, int]] = set()
    unsure = 0
    for number, line in enumerate(label_list.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        name, face_id, box, confidence, code = _parse_line(line, label_list, number)
        if (name, face_id) in seen:
            raise DataError(f"Line {number} of '{label_list}' lists face {face_id} of '{name}' a second time: remove the repeated line.")
        seen.add((name, face_id))
        if confidence < min_confidence:
            unsure += 1
            continue
        label = mapper(code)
        if label is None:
            continue
        if name not in present:
            missing.add(f"{IMAGES}/{name}")
            continue
        faces.append((name, face_id, DatasetEntry(key=f"{name}#{face_id}", label=label, path=root / IMAGES / name, box=box)))
    faces.sort(key=lambda face: face[:2])
    notes = [f"{unsure} faces with detection confidence below {min_confidence} left out"] if unsure else []
    return DatasetIndex("expw", root, class_names, [entry for *_, entry in faces], mapper.dropped, sorted(missing), "box", notes)


def _parse_line(line: str, path: Path, number: int) -> tuple[str, int, tuple[float, float, float, float], float, int]:
    """(image name, face id, box (left, top, right, bottom), confidence, label code) of one line."""
    fields = line.split()
    try:
        name, face_id, top, left, right, bottom, confidence, code = fields
        parsed = int(face_id), (float(left), float(top), float(right), float(bottom)), float(confidence), int(code)
    except ValueError:
        parsed = None
    if parsed is None or parsed[3] not in LABELS:
        raise DataError(f"Line {number} of '{path}' reads '{line.strip()[:60]}', not 'image face top left right bottom score 0-6': fix or remove that line.")
    return (name, *parsed)
