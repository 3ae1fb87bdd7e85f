"""The study's 89-point template face (224x275) and its triangulation.

Points 0-67 are dlib's 68 predictor points on an all-black 275x224 image with face box
(0,0)-(224,250); 68-84 are the jaw points 0-16 moved to y=0; 85-88 are the corners
(0,0), (0,H), (W,0), (W,H). Indices are 0-based (SPEC.md numbers them from 1).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.spatial import Delaunay

from faces.landmarks import predict_points

TEMPLATE_WIDTH = 224
TEMPLATE_HEIGHT = 275
TEMPLATE_FACE_BOX = (0, 0, 224, 250)


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
    """[89, 2] float64 template points in template pixels (computed once with dlib)."""
    black = np.zeros((TEMPLATE_HEIGHT, TEMPLATE_WIDTH, 3), np.uint8)
    landmarks = predict_points(black, TEMPLATE_FACE_BOX)
    points = add_extra_points(landmarks, TEMPLATE_WIDTH, TEMPLATE_HEIGHT)
    points.setflags(write=False)
    return points


@functools.cache
def template_triangles() -> np.ndarray:
    """[T, 3] int point-index triples: the Delaunay triangulation of the template points
    (used with the same triples on every face)."""
    triangles = Delaunay(template_points()).simplices.astype(np.int64)
    triangles.setflags(write=False)
    return triangles
