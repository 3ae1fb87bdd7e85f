"""AffectNet miniature in either public layout: "csv" (file lists with boxes and 68
landmarks, images in sub-folders) or "npy" (one image per face with ``_exp.npy`` and
``_lnd.npy`` annotations). Images are JPEGs at the face's own size; landmarks are written
as the true points (image pixels, centres at integers)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.datamodules.readers.layouts import LayoutFace

#: Expression name -> AffectNet code ("Contempt", "None", "Uncertain", "Non-Face" are out of set).
CODES = {
    "Neutral": 0,
    "Happiness": 1,
    "Sadness": 2,
    "Surprise": 3,
    "Fear": 4,
    "Disgust": 5,
    "Anger": 6,
    "Contempt": 7,
    "None": 8,
    "Uncertain": 9,
    "Non-Face": 10,
}
HEADER = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n"


def keys(faces: list[LayoutFace], layout: str = "csv") -> list[str]:
    """The reader's key of each face: ``Manually_Annotated_Images/<n>/face<i>.jpg`` (csv) or
    ``train_set|val_set/images/<i>.jpg`` (npy)."""
    if layout == "csv":
        return [f"Manually_Annotated_Images/{i % 3 + 1}/face{i:05d}.jpg" for i in range(len(faces))]
    return [f"{'train_set' if face.split == 'train' else 'val_set'}/images/{i}.jpg" for i, face in enumerate(faces)]


def write(root: Path, faces: list[LayoutFace], layout: str = "csv") -> None:
    """Write the miniature under ``root``: train faces in training.csv / train_set, test
    faces in validation.csv / val_set."""
    unknown = sorted({face.label for face in faces} - set(CODES))
    if unknown:
        raise ValueError(f"AffectNet has no label for {unknown}")
    rows = {"train": [HEADER], "test": [HEADER]}
    if layout == "npy":
        for folder in ("train_set/images", "train_set/annotations", "val_set/images", "val_set/annotations"):
            (root / folder).mkdir(parents=True, exist_ok=True)
    for key, face in zip(keys(faces, layout), faces, strict=True):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / key), cv2.cvtColor(face.image, cv2.COLOR_RGB2BGR))
        code = CODES[face.label]
        if layout == "csv":
            left, top, right, bottom = face.box
            points = ";".join(f"{value:.4f}" for value in face.landmarks.reshape(-1))
            valence = -2 if code >= 8 else 0
            name = key.removeprefix("Manually_Annotated_Images/")
            rows[face.split].append(f'{name},{left},{top},{right - left},{bottom - top},"{points}",{code},{valence},{valence}\n')
        else:
            annotations = root / key.split("/")[0] / "annotations"
            face_id = Path(key).stem
            np.save(annotations / f"{face_id}_exp.npy", np.array(str(code)))
            np.save(annotations / f"{face_id}_lnd.npy", face.landmarks.reshape(-1).astype(np.float64))
    if layout == "csv":
        (root / "Manually_Annotated_file_lists").mkdir(exist_ok=True)
        (root / "Manually_Annotated_file_lists/training.csv").write_text("".join(rows["train"]))
        (root / "Manually_Annotated_file_lists/validation.csv").write_text("".join(rows["test"]))
