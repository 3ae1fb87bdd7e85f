"""The 68-point (iBUG / dlib) face shape the synthetic faces are built on.

Coordinates are *face units*: x to the image right, y down, 1.0 = the jaw width of the
mean face, origin near the nose tip. Indices are 0-based iBUG indices.
"""

from __future__ import annotations

import numpy as np

# dlib's 68-point predictor on a black 275x224 image with face box (0,0)-(224,250)
# (the study's template face), in template pixels; converted to face units below.
_MEAN_SHAPE_TEMPLATE_PX = np.array(
    [
        (16, 90),
        (17, 119),
        (20, 148),
        (27, 176),
        (37, 204),
        (52, 229),
        (69, 250),
        (90, 265),
        (114, 269),
        (138, 265),
        (159, 249),
        (176, 227),
        (191, 201),
        (201, 173),
        (206, 144),
        (208, 115),
        (207, 86),
        (37, 61),
        (50, 52),
        (66, 50),
        (83, 53),
        (97, 61),
        (121, 61),
        (135, 53),
        (152, 49),
        (168, 50),
        (182, 58),
        (109, 79),
        (110, 99),
        (110, 118),
        (110, 138),
        (89, 151),
        (100, 156),
        (111, 159),
        (122, 155),
        (132, 151),
        (53, 81),
        (63, 74),
        (75, 74),
        (86, 81),
        (75, 84),
        (63, 85),
        (134, 80),
        (145, 73),
        (157, 73),
        (167, 79),
        (157, 83),
        (145, 83),
        (73, 193),
        (86, 185),
        (101, 182),
        (111, 184),
        (121, 181),
        (137, 184),
        (152, 192),
        (139, 207),
        (124, 215),
        (112, 216),
        (101, 216),
        (85, 208),
        (79, 193),
        (101, 191),
        (111, 192),
        (121, 190),
        (145, 192),
        (122, 199),
        (112, 201),
        (101, 200),
    ],
    dtype=np.float64,
)
_JAW_WIDTH_PX = _MEAN_SHAPE_TEMPLATE_PX[16, 0] - _MEAN_SHAPE_TEMPLATE_PX[0, 0]


def _closed_mouth_mean_shape() -> np.ndarray:
    """Mean face [68, 2] in face units, with the inner lower lip on the inner upper lip."""
    shape = (_MEAN_SHAPE_TEMPLATE_PX - (112.0, 150.0)) / _JAW_WIDTH_PX
    shape[[65, 66, 67], 1] = shape[[63, 62, 61], 1]
    return shape


#: Mean face, [68, 2] in face units, mouth closed.
MEAN_SHAPE: np.ndarray = _closed_mouth_mean_shape()

JAW = list(range(0, 17))
RIGHT_BROW = list(range(17, 22))  # image left; 17 outer, 21 inner
LEFT_BROW = list(range(22, 27))  # image right; 22 inner, 26 outer
NOSE_BRIDGE = list(range(27, 31))
NOSE_BASE = list(range(31, 36))
RIGHT_EYE = list(range(36, 42))  # 36 outer corner, 39 inner; 37-38 upper, 40-41 lower
LEFT_EYE = list(range(42, 48))  # 42 inner corner, 45 outer; 43-44 upper, 46-47 lower
OUTER_LIPS = list(range(48, 60))  # 48 and 54 corners, 51 top centre, 57 bottom centre
INNER_LIPS = list(range(60, 68))  # 60 and 64 corners, 62 top centre, 66 bottom centre

#: Index permutation that maps a landmark set onto its mirror image (horizontal flip).
FLIP_PERMUTATION: np.ndarray = np.array(
    list(range(16, -1, -1))
    + list(range(26, 16, -1))
    + [27, 28, 29, 30]
    + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65]
)
