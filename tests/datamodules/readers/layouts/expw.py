"""ExpW miniature: one JPEG per face at the face's own size in image/origin/ (face id 0)
and label/label.lst with the face box in ExpW's order (top, left, right, bottom)."""

from __future__ import annotations

from pathlib import Path

import cv2

from tests.datamodules.readers.layouts import LayoutFace

#: Canonical class -> ExpW label code (ExpW has no out-of-set label).
CODES = {"Anger": 0, "Disgust": 1, "Fear": 2, "Happiness": 3, "Sadness": 4, "Surprise": 5, "Neutral": 6}
#: Detection confidence written on every line.
CONFIDENCE = 50.0


def keys(faces: list[LayoutFace]) -> list[str]:
    """The reader's key of each face: ``expw_<i>.jpg#0``."""
    return [f"expw_{i:04d}.jpg#0" for i in range(len(faces))]


def write(root: Path, faces: list[LayoutFace]) -> None:
    """Write the miniature under ``root`` (ExpW has no split: face.split is not used)."""
    unknown = sorted({face.label for face in faces} - set(CODES))
    if unknown:
        raise ValueError(f"ExpW has no label for {unknown}")
    (root / "image/origin").mkdir(parents=True, exist_ok=True)
    (root / "label").mkdir(exist_ok=True)
    lines = []
    for key, face in zip(keys(faces), faces, strict=True):
        name, face_id = key.split("#")
        cv2.imwrite(str(root / "image/origin" / name), cv2.cvtColor(face.image, cv2.COLOR_RGB2BGR))
        left, top, right, bottom = face.box
        lines.append(f"{name} {face_id} {top} {left} {right} {bottom} {CONFIDENCE} {CODES[face.label]}\n")
    (root / "label/label.lst").write_text("".join(lines))
