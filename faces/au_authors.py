"""Study 2's AU regions as the authors' code draws them (``au.codebook=authors``), slips
included, so that their numbers can be reproduced; ``faces.au`` is ours, corrected.

Their geometry, re-implemented from their description and code: landmarks truncated to
integer pixels; sizes in image fractions (brows ``w/8 x h/10``, cheeks ``w/10 x h/10``
shifted ``h/6`` down) or fixed pixels meant for 224-px faces (20-px circles, 25x10 lips
part); axis-aligned ellipses. Each AU is drawn alone, shrunk to 28x28 (bilinear), box
blurred 3x3 (OpenCV's default reflected border) and resized back (bilinear). An AU drawn
wholly outside the image is left out.

Their three slips, kept here and corrected in ``faces.au``:

- Disgust lists AU5 (upper *lid* raiser) where AU10 (upper *lip* raiser) is meant
  (``faces.au.AUTHORS_CODEBOOK``);
- AU10's circles are centred at (x48, y50) and (x52, y54), not at the midpoints of 48-50
  and 52-54;
- AU20's second circle is at the midpoint of 50-10, not of 54-10 (the mirror of 48-6).
"""

from __future__ import annotations

import cv2
import numpy as np

_GRID = 28
_CIRCLE = 20  # pixels (their faces are 224 px)

Ellipse = tuple[tuple[int, int], tuple[int, int]]  # ((x, y) centre, (a, b) semi-axes), pixels


def _half_span(low: int, high: int, fallback: int) -> int:
    """Their semi-axis from two coordinates: ``int((high - low) / 2)``, ``fallback`` when not positive."""
    return max(int((high - low) / 2), 0) or fallback


def _eye(p: np.ndarray, corner_left: int, top: int, corner_right: int, bottom: int, extra: int) -> Ellipse:
    centre = (int((p[corner_left, 0] + p[corner_right, 0]) / 2), int((p[top, 1] + p[bottom, 1]) / 2))
    return centre, (_half_span(p[corner_left, 0], p[corner_right, 0], 5), _half_span(p[top, 1] - extra, p[bottom, 1] + extra, 5))


def _mouth(p: np.ndarray) -> Ellipse:
    centre = (int((p[48, 0] + p[54, 0]) / 2), int((p[51, 1] + p[57, 1]) / 2))
    return centre, (_half_span(p[48, 0], p[54, 0], 5), _half_span(p[51, 1], p[57, 1], 5))


def authors_regions(au: int, landmarks: np.ndarray, height: int, width: int) -> list[Ellipse]:
    """The ellipses the authors draw for ``au`` on an image ``height`` x ``width`` with
    ``landmarks`` [68, 2] (truncated to integers first)."""
    p = np.asarray(landmarks).astype(np.int64)
    brow = (round(width / 8), round(height / 10))
    circle = (_CIRCLE, _CIRCLE)

    def point(i: int) -> tuple[int, int]:
        return int(p[i, 0]), int(p[i, 1])

    def middle(i: int, j: int) -> tuple[int, int]:
        return int((p[i, 0] + p[j, 0]) / 2), int((p[i, 1] + p[j, 1]) / 2)

    shapes: dict[int, list[Ellipse]] = {
        1: [(point(20), brow), (point(23), brow)],
        2: [(point(18), brow), (point(25), brow)],
        4: [(middle(19, 24), (_half_span(p[19, 0], p[24, 0], 10), _half_span(p[19, 1], p[24, 1], 10)))],
        5: [_eye(p, 36, 38, 39, 41, 0), _eye(p, 42, 44, 45, 47, 0)],
        6: [((int(p[41, 0]), int(p[41, 1]) + round(height / 6)), (round(width / 10), round(height / 10))),
            ((int(p[46, 0]), int(p[46, 1]) + round(height / 6)), (round(width / 10), round(height / 10)))],
        7: [_eye(p, 36, 38, 39, 41, 10), _eye(p, 42, 44, 45, 47, 10)],
        9: [((int(p[31, 0]), int(p[29, 1])), circle), ((int(p[35, 0]), int(p[29, 1])), circle)],
        10: [((int(p[48, 0]), int(p[50, 1])), circle), ((int(p[52, 0]), int(p[54, 1])), circle)],
        12: [(point(48), circle), (point(54), circle)],
        15: [(point(48), circle), (point(54), circle)],
        16: [(point(59), circle), (point(55), circle)],
        17: [(middle(59, 8), (_half_span(p[59, 0], p[8, 0], 5), _half_span(p[59, 1], p[8, 1], 5)))],
        20: [(middle(48, 6), circle), (middle(50, 10), circle)],
        25: [(point(51), (25, 10)), (point(57), (25, 10))],
    }  # fmt: skip
    for mouth_au in (23, 24, 26, 27):
        shapes[mouth_au] = [_mouth(p)]
    if au not in shapes:
        raise KeyError(f"No region for AU{au} in the authors' code: known AUs are {', '.join(map(str, sorted(shapes)))}.")
    return shapes[au]


def authors_au_map(au: int, landmarks: np.ndarray, height: int, width: int) -> np.ndarray | None:
    """float32 [height, width]: one AU drawn, shrunk to 28x28, blurred 3x3, resized back;
    None when the AU falls wholly outside the image."""
    canvas = np.zeros((height, width), np.float32)
    for centre, axes in authors_regions(au, landmarks, height, width):
        cv2.ellipse(canvas, centre, axes, 0, 0, 360, 1.0, cv2.FILLED)
    if not canvas.any():
        return None
    small = cv2.blur(cv2.resize(canvas, (_GRID, _GRID), interpolation=cv2.INTER_LINEAR), (3, 3))
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
