"""RAF-DB basic miniature: the label list, the original images at the face's own size with
their box files, and 100x100 "aligned" images (the whole face image resized)."""

from __future__ import annotations

from pathlib import Path

import cv2

from tests.datamodules.readers.layouts import LayoutFace

#: Canonical class -> RAF-DB label code (RAF-DB has no out-of-set label).
CODES = {"Surprise": 1, "Fear": 2, "Disgust": 3, "Happiness": 4, "Sadness": 5, "Anger": 6, "Neutral": 7}


def names(faces: list[LayoutFace]) -> list[str]:
    """RAF-DB image name of each face: ``train_00001.jpg``..., ``test_0001.jpg``... numbered per split."""
    counts = {"train": 0, "test": 0}
    result = []
    for face in faces:
        counts[face.split] += 1
        result.append(f"train_{counts['train']:05d}.jpg" if face.split == "train" else f"test_{counts['test']:04d}.jpg")
    return result


def write(root: Path, faces: list[LayoutFace]) -> None:
    """Write the miniature under ``root``; boxes as "x1 y1 x2 y2" = face.box."""
    unknown = sorted({face.label for face in faces} - set(CODES))
    if unknown:
        raise ValueError(f"RAF-DB has no label for {unknown}")
    for folder in ("EmoLabel", "Image/original", "Image/aligned", "Annotation/boundingbox"):
        (root / "basic" / folder).mkdir(parents=True, exist_ok=True)
    lines = []
    for name, face in zip(names(faces), faces, strict=True):
        stem = name.removesuffix(".jpg")
        lines.append(f"{name} {CODES[face.label]}\n")
        bgr = cv2.cvtColor(face.image, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(root / "basic/Image/original" / name), bgr)
        cv2.imwrite(str(root / "basic/Image/aligned" / f"{stem}_aligned.jpg"), cv2.resize(bgr, (100, 100), interpolation=cv2.INTER_AREA))
        (root / "basic/Annotation/boundingbox" / f"{stem}_boundingbox.txt").write_text(" ".join(f"{value:.2f}" for value in face.box) + "\n")
    (root / "basic/EmoLabel/list_patition_label.txt").write_text("".join(lines))
