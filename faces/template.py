"""The study's 89-point template face (224x275) and its triangulation.

Points 0-67 are dlib's 68 predictor points on an all-black 275x224 image with face box
(0,0)-(224,250), shipped as constants (``TEMPLATE_LANDMARKS``; a test recomputes them with
dlib and compares them with the study's ``reference/ekman/template_68_points.csv``), so
warping and analysis need no dlib; 68-84 are the jaw points 0-16 moved to y=0; 85-88 are
the corners (0,0), (0,H), (W,0), (W,H). Indices are 0-based (the study numbers them from 1).
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np
from scipy.spatial import Delaunay

TEMPLATE_WIDTH = 224
TEMPLATE_HEIGHT = 275
TEMPLATE_FACE_BOX = (0, 0, 224, 250)
TEMPLATE_NAME = "gaya-morey-89"

#: [68, 2] (x, y) template pixels: dlib's predictor on the black template with ``TEMPLATE_FACE_BOX``.
# fmt: off
TEMPLATE_LANDMARKS = np.array(
    [
        (16, 90), (17, 119), (20, 148), (27, 176), (37, 204), (52, 229),
        (69, 250), (90, 265), (114, 269), (138, 265), (159, 249), (176, 227),
        (191, 201), (201, 173), (206, 144), (208, 115), (207, 86), (37, 61),
        (50, 52), (66, 50), (83, 53), (97, 61), (121, 61), (135, 53),
        (152, 49), (168, 50), (182, 58), (109, 79), (110, 99), (110, 118),
        (110, 138), (89, 151), (100, 156), (111, 159), (122, 155), (132, 151),
        (53, 81), (63, 74), (75, 74), (86, 81), (75, 84), (63, 85),
        (134, 80), (145, 73), (157, 73), (167, 79), (157, 83), (145, 83),
        (73, 193), (86, 185), (101, 182), (111, 184), (121, 181), (137, 184),
        (152, 192), (139, 207), (124, 215), (112, 216), (101, 216), (85, 208),
        (79, 193), (101, 191), (111, 192), (121, 190), (145, 192), (122, 199),
        (112, 201), (101, 200),
    ],
    dtype=np.float64,
)
# fmt: on


def add_extra_points(landmarks: np.ndarray, width: float, height: float) -> np.ndarray:
    """[..., 68, 2] landmarks of a ``width`` x ``height`` image -> [..., 89, 2]: plus the jaw
    points moved to the top edge and the four image corners."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    top = landmarks[..., :17, :].copy()
    top[..., 1] = 0.0
    corners = np.broadcast_to(np.array([[0, 0], [0, height], [width, 0], [width, height]], dtype=np.float64), (*landmarks.shape[:-2], 4, 2))
    return np.concatenate([landmarks, top, corners], axis=-2)


@functools.cache
def template_points() -> np.ndarray:
    """[89, 2] float64 template points in template pixels (read-only)."""
    points = add_extra_points(TEMPLATE_LANDMARKS, TEMPLATE_WIDTH, TEMPLATE_HEIGHT)
    points.setflags(write=False)
    return points


@functools.cache
def template_triangles() -> np.ndarray:
    """[T, 3] int point-index triples: the Delaunay triangulation of the template points
    (used with the same triples on every face)."""
    triangles = Delaunay(template_points()).simplices.astype(np.int64)
    triangles.setflags(write=False)
    return triangles


@functools.cache
def template_sha256() -> str:
    """sha256 of the 89 template points (float64, C order): recorded in every artifact, so
    heatmaps warped onto different templates are never mixed."""
    return hashlib.sha256(np.ascontiguousarray(template_points()).tobytes()).hexdigest()
