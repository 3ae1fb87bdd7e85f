"""Image-folder miniature in the FER2013 Kaggle style: gray JPGs
``train|test/<angry|disgusted|fearful|happy|neutral|sad|surprised>/<subject>_<n>.jpg``
(lower-case folder names; a label outside the seven gets its own lower-cased folder,
``contempt``), or without the split level."""

from __future__ import annotations

from pathlib import Path

import cv2

from tests.datamodules.readers.layouts import LayoutFace

FOLDERS = {"Anger": "angry", "Disgust": "disgusted", "Fear": "fearful", "Happiness": "happy", "Neutral": "neutral", "Sadness": "sad", "Surprise": "surprised"}


def file_paths(faces: list[LayoutFace], split_folders: bool = True) -> list[str]:
    """Relative path of each face's image."""
    paths = []
    for number, face in enumerate(faces):
        folder = FOLDERS.get(face.label, face.label.lower())
        paths.append(f"{face.split + '/' if split_folders else ''}{folder}/{face.subject}_{number:04d}.jpg")
    return paths


def write(root: Path, faces: list[LayoutFace], split_folders: bool = True) -> None:
    for face, relative in zip(faces, file_paths(faces, split_folders), strict=True):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(face.image, cv2.COLOR_RGB2GRAY), [cv2.IMWRITE_JPEG_QUALITY, 95])
