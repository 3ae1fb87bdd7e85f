"""Miniatures of the public datasets' official layouts, written from synthetic faces whose
68 landmarks are known: one module per reader, each with
``write(root: Path, faces: list[LayoutFace]) -> None``.

A ``LayoutFace`` says what the reader must find: its canonical label (or an out-of-set
name such as ``"Contempt"``), subject, official split, box and true landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferlens.datamodules.synthetic import SyntheticFaces


@dataclass
class LayoutFace:
    """One face to write. ``image`` uint8 RGB [H, W, 3]; ``landmarks`` [68, 2] true points
    in image pixels; ``box`` (left, top, right, bottom) around them; ``label`` a canonical
    class name or an out-of-set expression name; ``split`` "train" or "test"."""

    image: np.ndarray
    label: str
    subject: str
    split: str
    landmarks: np.ndarray
    box: tuple[int, int, int, int]


def synthetic_layout_faces(labels: list[str], size: int = 224, num_subjects: int = 4, seed: int = 0) -> list[LayoutFace]:
    """One synthetic face per entry of ``labels`` (faces rendered for the label's class when
    it is one of the seven, else a neutral-class face), subjects ``S001``... cycling, every
    third face in the test split."""
    source = SyntheticFaces(num_images=7 * num_subjects * (len(labels) // 7 + 2), num_subjects=num_subjects, image_size=size, neutral=True, seed=seed)
    by_class: dict[str, list[int]] = {}
    for index, label in enumerate(source.labels):
        by_class.setdefault(source.class_names[label], []).append(index)
    faces, used = [], {}
    for position, label in enumerate(labels):
        name = label if label in source.class_names else "Neutral"
        index = by_class[name][used.get(name, 0)]
        used[name] = used.get(name, 0) + 1
        sample = source[index]
        low, high = sample.landmarks.min(axis=0), sample.landmarks.max(axis=0)
        box = (int(low[0]), int(low[1]), int(np.ceil(high[0])), int(np.ceil(high[1])))
        faces.append(LayoutFace(sample.image, label, f"S{index % num_subjects + 1:03d}", "test" if position % 3 == 2 else "train", sample.landmarks, box))
    return faces
