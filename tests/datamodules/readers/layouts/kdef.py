"""KDEF miniature: ``KDEF/<AF01>/<AF01ANS>.JPG`` color JPGs, straight views, session A for
a subject's first face of an expression and B for the second. A label without a KDEF code
is written with its first two letters (``Contempt`` -> ``CO``), a code KDEF lacks."""

from __future__ import annotations

import re
from pathlib import Path

import cv2

from tests.datamodules.readers.layouts import LayoutFace

CODES = {"Fear": "AF", "Anger": "AN", "Disgust": "DI", "Happiness": "HA", "Neutral": "NE", "Sadness": "SA", "Surprise": "SU"}


def subject_id(subject: str) -> str:
    """KDEF gender + identity of a layout subject: odd numbers female, even male
    (``S001`` -> ``F01``, ``S002`` -> ``M01``, ``S003`` -> ``F02``)."""
    number = int(re.sub(r"[^0-9]", "", subject))
    return f"{'F' if number % 2 else 'M'}{(number + 1) // 2:02d}"


def file_paths(faces: list[LayoutFace], angle: str = "S") -> list[str]:
    """Relative path of each face's image at view ``angle``."""
    sessions: dict[tuple[str, str], int] = {}
    paths = []
    for face in faces:
        subject, code = subject_id(face.subject), CODES.get(face.label, face.label[:2].upper())
        sessions[subject, code] = sessions.get((subject, code), 0) + 1
        if sessions[subject, code] > 2:
            raise ValueError(f"KDEF has two sessions: subject {face.subject} shows {face.label} more than twice")
        session = "AB"[sessions[subject, code] - 1]
        paths.append(f"KDEF/{session}{subject}/{session}{subject}{code}{angle}.JPG")
    return paths


def write(root: Path, faces: list[LayoutFace]) -> None:
    for face, relative in zip(faces, file_paths(faces), strict=True):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(face.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
