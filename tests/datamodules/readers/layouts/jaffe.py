"""JAFFE miniature: gray TIFFs ``jaffe/KA.AN1.39.tiff`` (subject initials, expression code
and repetition per subject, image number) beside a README. A label without a JAFFE code
is written with its first two letters (``Contempt`` -> ``CO``), a code JAFFE lacks."""

from __future__ import annotations

import re
from pathlib import Path

import cv2

from tests.datamodules.readers.layouts import LayoutFace

CODES = {"Anger": "AN", "Disgust": "DI", "Fear": "FE", "Happiness": "HA", "Neutral": "NE", "Sadness": "SA", "Surprise": "SU"}
#: The ten JAFFE posers.
SUBJECTS = ("KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM", "UY", "YM")


def subject_id(subject: str) -> str:
    """JAFFE initials of a layout subject (``S001`` -> ``KA``, up to ``S010`` -> ``YM``)."""
    return SUBJECTS[int(re.sub(r"[^0-9]", "", subject)) - 1]


def file_paths(faces: list[LayoutFace]) -> list[str]:
    """Relative path of each face's image."""
    repeats: dict[tuple[str, str], int] = {}
    paths = []
    for number, face in enumerate(faces, 1):
        subject, code = subject_id(face.subject), CODES.get(face.label, face.label[:2].upper())
        repeats[subject, code] = repeats.get((subject, code), 0) + 1
        paths.append(f"jaffe/{subject}.{code}{repeats[subject, code]}.{number}.tiff")
    return paths


def write(root: Path, faces: list[LayoutFace]) -> None:
    (root / "jaffe").mkdir(parents=True, exist_ok=True)
    (root / "jaffe" / "README").write_text("The Japanese Female Facial Expression (JAFFE) database (miniature).\n")
    for face, relative in zip(faces, file_paths(faces), strict=True):
        cv2.imwrite(str(root / relative), cv2.cvtColor(face.image, cv2.COLOR_RGB2GRAY))
