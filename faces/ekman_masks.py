"""The six Friesen & Ekman ground-truth masks of Study 1, on the template face.

Each mask is a union of named face regions; a region is a list of filled triangles whose
corners are template points (0-based indices into the 89 template points) or points built
from them: ``XY(i, j)`` = (x of point i, y of point j) and ``Mid(i, j)`` = midpoint. The
regions follow docs/SPEC.md's description ("Ground-truth masks") of each mask; the triangles are those of the study's
own masks, so that rendering at scale 1 reproduces its PNGs.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, template_points


@dataclass(frozen=True)
class XY:
    """The x of template point ``x_of`` with the y of template point ``y_of``."""

    x_of: int
    y_of: int


@dataclass(frozen=True)
class Mid:
    """Midpoint of template points ``a`` and ``b`` (rounded down, as the study drew it)."""

    a: int
    b: int


Vertex = int | XY | Mid
Triangle = tuple[Vertex, Vertex, Vertex]


def strip(*indices: Vertex) -> list[Triangle]:
    """Triangle strip: every three consecutive vertices."""
    return [(indices[i], indices[i + 1], indices[i + 2]) for i in range(len(indices) - 2)]


def fan(center: Vertex, *rim: Vertex) -> list[Triangle]:
    """Triangle fan around ``center``."""
    return [(center, rim[i], rim[i + 1]) for i in range(len(rim) - 1)]


# the level of the under-eye band: y of point 29 (the nose, just below the eyes)
_EYE_BAND = {corner: XY(corner, 29) for corner in (36, 39, 42, 45)}
_CHEEK_LEFT, _CHEEK_RIGHT = Mid(4, 48), Mid(12, 54)
_FOREHEAD_TOP = 76  # the extra point above jaw point 8: y = 0

REGIONS: dict[str, list[Triangle]] = {
    # right brow (image left), glabella and the upper lid around them
    "brows_and_glabella": [
        (37, 38, 19),
        (20, 38, 19),
        (18, 19, 37),
        (18, 37, 36),
        (20, 21, 38),
        (21, 38, 39),
        (40, 38, 39),
        (40, 38, 37),
        (40, 41, 37),
        (36, 41, 37),
        *strip(39, 21, 27, 22, 42, 22, 43, 23, 43, 24, 44, 25, 45),
    ],
    # the forehead above the brows, up to the top edge
    "forehead": [
        (18, 19, XY(18, 73)),
        (74, 19, XY(18, 73)),
        (20, 74, 19),
        (20, 74, 75),
        (20, 76, 75),
        (20, 76, 21),
        (22, 76, 21),
        (22, 76, 23),
        (77, 76, 23),
        (77, 24, 23),
        (77, 24, XY(25, 78)),
        (25, 24, XY(25, 78)),
    ],
    "left_eye": strip(42, 43, 47, 44, 46, 45),
    "right_eye": strip(39, 38, 40, 37, 41, 36),
    "eyes_both_lids": strip(36, 41, 37, 40, 38, 39) + strip(45, 46, 44, 47, 43, 42),
    # from the eyes down to the level of point 29
    "under_eye_band": [
        (36, _EYE_BAND[39], _EYE_BAND[36]),
        (36, 39, _EYE_BAND[39]),
        (42, _EYE_BAND[45], _EYE_BAND[42]),
        (42, 45, _EYE_BAND[45]),
    ],
    "nose_bridge": [(28, 39, _EYE_BAND[39]), (28, 39, 27), (28, 27, 42), (28, 42, _EYE_BAND[42])],
    # cheeks and nasolabial area from the eye band down to the mouth corners
    "cheeks_to_mouth_corners": [
        (48, _EYE_BAND[36], _CHEEK_LEFT),
        (48, _EYE_BAND[36], _EYE_BAND[39]),
        (48, 49, _EYE_BAND[39]),
        (54, _EYE_BAND[45], _CHEEK_RIGHT),
        (54, _EYE_BAND[45], _EYE_BAND[42]),
        (54, 53, _EYE_BAND[42]),
    ],
    # central strip from the nose base through the lips to the chin
    "central_mouth_chin": strip(32, 33, 50, 51, 61, 62, 67, 66, 58, 57, 7, 8) + strip(34, 33, 52, 51, 63, 62, 65, 66, 56, 57, 9, 8),
    # the whole mouth and jaw from the nose base to the chin
    "mouth_and_jaw": (
        strip(32, 31, 50, 49, 61, 59, 67, 6, 58, 7)
        + strip(32, 33, 50, 51, 61, 62, 67, 66, 58, 57, 7, 8)
        + strip(34, 33, 52, 51, 63, 62, 65, 66, 56, 57, 9, 8)
        + strip(34, 35, 52, 53, 63, 55, 65, 10, 56, 9)
    ),
    # cheeks from the nose base and the jaw to the mouth corners
    "lower_cheeks": [(49, 31, 39), *fan(48, 31, 4, 5, 6, 59, 49), (53, 35, 42), *fan(54, 35, 12, 11, 10, 55, 53)],
    "mouth_corner_cheeks": [(49, 59, _CHEEK_LEFT), (55, 53, _CHEEK_RIGHT)],
    # up to halfway from the jaw's top points to the top corners (85, 87)
    "temples": [
        (0, 36, 18),
        (0, 36, _EYE_BAND[36]),
        (0, 18, Mid(0, 85)),
        (16, 45, 25),
        (16, 45, _EYE_BAND[45]),
        (16, 25, Mid(16, 87)),
    ],
    # the band between the inner brows and the eyes, and the central forehead above it
    "inner_brows_central_forehead": strip(38, 20, 39, 21, 27, 22, 42, 23, 43)
    + fan(_FOREHEAD_TOP, 20, 21, 22, 23)
    + [(20, _FOREHEAD_TOP, XY(20, _FOREHEAD_TOP)), (23, _FOREHEAD_TOP, XY(23, _FOREHEAD_TOP))],
    # from the lower eyelids down to the upper lip and mouth corners, the nose, the glabella
    "disgust_mid_face": [
        (36, 59, _CHEEK_LEFT),
        (59, 36, 41),
        (59, 41, 40),
        (59, 40, 39),
        *strip(40, 48, 39, 49, 21, 67, 27, 66, 22, 65, 42, 53, 47, 54),
        (45, 55, _CHEEK_RIGHT),
        (55, 45, 46),
        (55, 46, 47),
        (55, 47, 42),
        (21, 22, 27),
    ],
    # above each brow up to the top, and the band from each brow to the upper eyelid
    "above_brows": [
        (22, 25, XY(22, _FOREHEAD_TOP)),
        (25, XY(25, _FOREHEAD_TOP), XY(22, _FOREHEAD_TOP)),
        (21, 18, XY(21, _FOREHEAD_TOP)),
        (18, XY(18, _FOREHEAD_TOP), XY(21, _FOREHEAD_TOP)),
    ],
    "brows_to_upper_lids": strip(42, 22, 47, 23, 46, 24, 45, 25) + strip(39, 21, 40, 20, 41, 19, 36, 18),
}

EKMAN_MASK_REGIONS: dict[str, list[str]] = {
    "Anger": ["brows_and_glabella", "forehead", "left_eye", "under_eye_band", "central_mouth_chin"],
    "Disgust": ["disgust_mid_face"],
    "Fear": ["brows_and_glabella", "forehead", "left_eye", "under_eye_band", "nose_bridge", "cheeks_to_mouth_corners"],
    "Happiness": ["right_eye", "left_eye", "under_eye_band", "nose_bridge", "cheeks_to_mouth_corners", "lower_cheeks"],
    "Sadness": ["under_eye_band", "nose_bridge", "cheeks_to_mouth_corners", "eyes_both_lids", "mouth_corner_cheeks", "temples", "inner_brows_central_forehead"],
    "Surprise": ["above_brows", "brows_to_upper_lids", "mouth_and_jaw"],
}


def _vertex(vertex: Vertex, points: np.ndarray) -> np.ndarray:
    if isinstance(vertex, XY):
        return np.array([points[vertex.x_of, 0], points[vertex.y_of, 1]])
    if isinstance(vertex, Mid):
        return np.floor((points[vertex.a] + points[vertex.b]) / 2)
    return points[vertex]


def render_regions(regions: list[str], scale: float = 1.0, points: np.ndarray | None = None) -> np.ndarray:
    """bool [round(275*scale), round(224*scale)]: the union of named regions on the template
    (or on other 89 ``points`` given in template pixels), at any scale."""
    points = template_points() if points is None else points
    return draw_regions(regions, points, round(TEMPLATE_HEIGHT * scale), round(TEMPLATE_WIDTH * scale), scale)


def draw_regions(regions: list[str], points: np.ndarray, height: int, width: int, scale: float = 1.0) -> np.ndarray:
    """bool [height, width]: the union of named regions of a face whose 89 ``points`` (the 68
    landmarks plus ``faces.template.add_extra_points``'), times ``scale``, are in the canvas' pixels."""
    canvas = np.zeros((height, width), np.uint8)
    for name in regions:
        for triangle in REGIONS[name]:
            corners = np.stack([_vertex(v, points) for v in triangle]) * scale
            cv2.fillPoly(canvas, [np.round(corners * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return canvas > 0


def ekman_mask(expression: str, scale: float = 1.0) -> np.ndarray:
    """bool mask of Friesen & Ekman's face regions for ``expression`` on the template."""
    if expression not in EKMAN_MASK_REGIONS:
        raise KeyError(f"No Ekman mask for '{expression}': choose one of {', '.join(EKMAN_MASK_REGIONS)}.")
    return render_regions(EKMAN_MASK_REGIONS[expression], scale)
