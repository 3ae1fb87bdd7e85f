"""CK+ miniature: one sequence of ``FRAMES`` gray PNG frames per face, all showing the
face, with a Landmarks file per frame (1-based, as CK+'s MATLAB output) and an Emotion
file named after the last frame holding the label's CK+ code. A label without a CK+ code
gets no Emotion file (an unlabelled sequence, as 266 of CK+'s are)."""

from __future__ import annotations

import re
from pathlib import Path

import cv2

from tests.datamodules.readers.layouts import LayoutFace

FRAMES = 4
CODES = {"Neutral": 0, "Anger": 1, "Contempt": 2, "Disgust": 3, "Fear": 4, "Happiness": 5, "Sadness": 6, "Surprise": 7}


def subject_id(subject: str) -> str:
    """CK+ subject id (``S001``) of a layout subject (its digits)."""
    return f"S{int(re.sub(r'[^0-9]', '', subject)):03d}"


def frame_paths(faces: list[LayoutFace]) -> list[list[str]]:
    """Per face, the relative paths of its ``FRAMES`` frames (sequences numbered per subject)."""
    count: dict[str, int] = {}
    paths = []
    for face in faces:
        subject = subject_id(face.subject)
        count[subject] = count.get(subject, 0) + 1
        sequence = f"{count[subject]:03d}"
        paths.append([f"cohn-kanade-images/{subject}/{sequence}/{subject}_{sequence}_{frame:08d}.png" for frame in range(1, FRAMES + 1)])
    return paths


def write(root: Path, faces: list[LayoutFace]) -> None:
    for face, frames in zip(faces, frame_paths(faces), strict=True):
        gray = cv2.cvtColor(face.image, cv2.COLOR_RGB2GRAY)
        for frame in frames:
            image = root / frame
            image.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(image), gray)
            landmarks = root / frame.replace("cohn-kanade-images/", "Landmarks/", 1).replace(".png", "_landmarks.txt")
            landmarks.parent.mkdir(parents=True, exist_ok=True)
            landmarks.write_text("".join(f"   {x + 1:.7e}   {y + 1:.7e}\n" for x, y in face.landmarks))
        if face.label in CODES:
            emotion = root / frames[-1].replace("cohn-kanade-images/", "Emotion/", 1).replace(".png", "_emotion.txt")
            emotion.parent.mkdir(parents=True, exist_ok=True)
            emotion.write_text(f"   {CODES[face.label]:.7e}\n")
