"""A user's own lab outside the clone, for the tests of ``_target_`` networks and readers and
of the examples: the examples' ``my_lab`` package copied into a folder (plus ``my_lab.bad``,
modules that break the contract), and faces in the lab's own layout (``my_lab.readers``)."""

from __future__ import annotations

import csv
import shutil
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np

from ferlens.datamodules.synthetic import SyntheticFaces
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
#: The lab's word for each class (aliases ferlens maps back to the canonical names).
WORDS = {"Anger": "angry", "Disgust": "disgusted", "Fear": "fearful", "Happiness": "happy", "Sadness": "sad", "Surprise": "surprised"}
BAD = '''
import torch
from torch import nn


class GridOut(nn.Module):
    """Returns its feature map, not logits."""

    def __init__(self, num_classes):
        super().__init__()
        self.conv = nn.Conv2d(3, num_classes, 3, padding=1)

    def forward(self, images):
        return self.conv(images)


def not_a_module(num_classes):
    return "a network"


def not_records(root):
    return 42
'''


def user_lab(folder: Path) -> Path:
    """``folder`` holding the ``my_lab`` package (outside the clone); returns ``folder``."""
    shutil.copytree(EXAMPLES / "my_lab", folder / "my_lab")
    (folder / "my_lab" / "bad.py").write_text(textwrap.dedent(BAD))
    return folder


def forget_lab() -> None:
    """Drop ``my_lab`` from the imported modules (the next test's copy is another folder)."""
    for name in [n for n in sys.modules if n == "my_lab" or n.startswith("my_lab.")]:
        sys.modules.pop(name)


def write_lab_faces(root: Path, num_images: int = 96, num_subjects: int = 12, size: int = 96, extra_rows: tuple[tuple[str, str], ...] = ()) -> SyntheticFaces:
    """Synthetic faces in the lab's layout under ``root``: PNGs, ``faces.csv`` (file, emotion
    word, person, the landmarks' bounding box) and ``points/<file>.npy``; ``extra_rows`` adds
    (file, emotion) rows of the first image's box. Returns the faces (known truth)."""
    faces = SyntheticFaces(num_images=num_images, num_subjects=num_subjects, image_size=size, seed=0)
    (root / "points").mkdir(parents=True, exist_ok=True)
    with open(root / "faces.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "emotion", "person", "left", "top", "right", "bottom"])
        for index in range(num_images):
            sample = faces[index]
            name = f"{sample.subject}_{index:03d}.png"
            cv2.imwrite(str(root / name), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
            np.save(root / "points" / f"{name}.npy", sample.landmarks)
            (left, top), (right, bottom) = sample.landmarks.min(axis=0), sample.landmarks.max(axis=0)
            writer.writerow([name, WORDS[faces.class_names[sample.label]], sample.subject, left, top, right, bottom])
        for name, emotion in extra_rows:
            writer.writerow([name, emotion, "x", 0, 0, 10, 10])
    return faces
