"""CSV-manifest miniature: color PNGs ``images/<n>.png`` listed in ``labels.csv`` with
columns path,label,subject,split,x0..x67,y0..y67,left,top,right,bottom (the face's label
name as given, its subject and split, its true landmarks and box)."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2

from tests.datamodules.readers.layouts import LayoutFace

HEADER = ["path", "label", "subject", "split"] + [f"x{i}" for i in range(68)] + [f"y{i}" for i in range(68)] + ["left", "top", "right", "bottom"]


def file_paths(faces: list[LayoutFace]) -> list[str]:
    """Relative path of each face's image."""
    return [f"images/{number:04d}.png" for number in range(len(faces))]


def write(root: Path, faces: list[LayoutFace], manifest: str = "labels.csv") -> None:
    (root / "images").mkdir(parents=True, exist_ok=True)
    with open(root / manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for face, relative in zip(faces, file_paths(faces), strict=True):
            cv2.imwrite(str(root / relative), cv2.cvtColor(face.image, cv2.COLOR_RGB2BGR))
            points = [f"{v:.4f}" for v in face.landmarks[:, 0]] + [f"{v:.4f}" for v in face.landmarks[:, 1]]
            writer.writerow([relative, face.label, face.subject, face.split, *points, *face.box])
