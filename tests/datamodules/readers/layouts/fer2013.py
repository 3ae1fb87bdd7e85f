"""FER2013 miniature: ``fer2013.csv`` (each face converted to gray and resized to 48x48,
so its landmarks scale by 48 / size) and the FER+ votes ``fer2013new.csv`` in the same order.

Labels may be the seven classes or FER+'s out-of-set "Contempt", "unknown" and "NF"; since
FER2013 has no such label, those faces get FER2013's Neutral (what the synthetic image
shows) in fer2013.csv. FER+ votes: 8 for the face's label, 2 for a second expression."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.datamodules.readers.layouts import LayoutFace

#: Canonical class -> FER2013 code.
CODES = {"Anger": 0, "Disgust": 1, "Fear": 2, "Happiness": 3, "Sadness": 4, "Surprise": 5, "Neutral": 6}
#: FER+ vote columns, and the label each stands for.
VOTES = {
    "neutral": "Neutral",
    "happiness": "Happiness",
    "surprise": "Surprise",
    "sadness": "Sadness",
    "anger": "Anger",
    "disgust": "Disgust",
    "fear": "Fear",
    "contempt": "Contempt",
    "unknown": "unknown",
    "NF": "NF",
}
USAGES = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}


def keys(faces: list[LayoutFace]) -> list[str]:
    """The reader's key of each face: ``fer2013.csv#<row>``."""
    return [f"fer2013.csv#{row}" for row in range(len(faces))]


def gray48(face: LayoutFace) -> np.ndarray:
    """The face as FER2013 stores it: uint8 [48, 48] gray."""
    return cv2.resize(cv2.cvtColor(face.image, cv2.COLOR_RGB2GRAY), (48, 48), interpolation=cv2.INTER_AREA)


def write(root: Path, faces: list[LayoutFace]) -> None:
    """Write ``root/fer2013.csv`` and ``root/fer2013new.csv``; train faces in Training, test faces in PrivateTest."""
    columns = {label: column for column, label in VOTES.items()}
    unknown = sorted({face.label for face in faces} - set(columns))
    if unknown:
        raise ValueError(f"FER2013 and FER+ have no label for {unknown}")
    root.mkdir(parents=True, exist_ok=True)
    rows, votes = ["emotion,pixels,Usage\n"], ["Usage,Image name," + ",".join(VOTES) + "\n"]
    for row, face in enumerate(faces):
        usage = USAGES[face.split]
        rows.append(f"{CODES.get(face.label, CODES['Neutral'])},{' '.join(map(str, gray48(face).reshape(-1)))},{usage}\n")
        counts = dict.fromkeys(VOTES, 0)
        counts[columns[face.label]] = 8
        counts["happiness" if face.label == "Neutral" else "neutral"] = 2
        name = "" if face.label == "NF" else f"fer{row:07d}.png"
        votes.append(f"{usage},{name}," + ",".join(str(count) for count in counts.values()) + "\n")
    (root / "fer2013.csv").write_text("".join(rows))
    (root / "fer2013new.csv").write_text("".join(votes))
