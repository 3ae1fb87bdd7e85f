"""A dataset reader of a user's own: plain Python, nothing imported from ferlens.

The lab keeps its faces as ``<root>/faces.csv`` (``file,emotion,person,left,top,right,bottom``)
plus ``<root>/points/<file>.npy`` (68 landmarks, x and y in image pixels, when known). The
reader yields one record per face; ferlens maps ``emotion`` through its aliases (``happy`` ->
Happiness) and prepares the faces as for its own readers."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np


def read_faces(root: Path, listing: str = "faces.csv") -> Iterator[dict]:
    """One record per row of ``root/listing``: image path, label, subject, box, landmarks."""
    with open(Path(root) / listing, newline="") as file:
        for row in csv.DictReader(file):
            points = Path(root) / "points" / f"{row['file']}.npy"
            yield {
                "image": row["file"],
                "label": row["emotion"],
                "subject": row["person"],
                "box": tuple(float(row[k]) for k in ("left", "top", "right", "bottom")),
                "landmarks": np.load(points) if points.is_file() else None,
            }
