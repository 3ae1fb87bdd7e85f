"""Study 2's action-unit (AU) cues: the codebook, AU regions from 68 landmarks, per-image
AU heatmaps, and per-expression AU masks on the template (the second mask family).

Region sizes are fractions of the inter-ocular distance ``d`` (between the eye centres),
so a region scales with the face, and ellipses turn with the eye line. On the study's
224-px faces ``d`` is about 82 px: brow ellipses of 0.34d x 0.27d semi-axes are its
w/8 x h/10.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ferlens.faces.au_authors import authors_au_map
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, template_points
from ferlens.user_errors import UserError

#: FACS AUs per expression (Study 2; AU10 upper lip raiser for disgust). Neutral has none.
AU_CODEBOOK: dict[str, tuple[int, ...]] = {
    "Anger": (4, 5, 7, 10, 17, 23, 24, 25, 26),
    "Disgust": (9, 10, 16, 17, 25, 26),
    "Fear": (1, 2, 4, 5, 20, 25, 26, 27),
    "Happiness": (6, 12, 25),
    "Sadness": (1, 4, 6, 15, 17),
    "Surprise": (1, 2, 5, 26, 27),
    "Neutral": (),
}

#: The AUs per expression in the authors' code: AU5 (upper *lid* raiser) for disgust, their
#: slip for AU10 (upper *lip* raiser).
AUTHORS_CODEBOOK: dict[str, tuple[int, ...]] = {**AU_CODEBOOK, "Disgust": (9, 5, 16, 17, 25, 26)}

_BLUR_GRID = 28  # the AU maps are smoothed on a 28-cell grid (along the longer side)


@dataclass(frozen=True)
class Ellipse:
    """Filled ellipse: ``center`` (x, y) and semi-axes ``axes`` (along, across the eye line) in
    image pixels, turned by ``angle`` degrees (the eye line's)."""

    center: tuple[float, float]
    axes: tuple[float, float]
    angle: float


def _eye_line(points: np.ndarray) -> tuple[float, float]:
    """(inter-ocular distance in pixels, eye-line angle in degrees)."""
    right, left = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    delta = left - right
    return float(np.hypot(*delta)), float(np.degrees(np.arctan2(delta[1], delta[0])))


def au_regions(au: int, landmarks: np.ndarray) -> list[Ellipse]:
    """The image regions of one AU for a face with ``landmarks`` [68, 2] (0-based iBUG)."""
    shapes = face_regions(landmarks)
    if au not in shapes:
        raise KeyError(f"No region for AU{au}: known AUs are {', '.join(map(str, sorted(shapes)))}.")
    return shapes[au]


def face_regions(landmarks: np.ndarray) -> dict[int, list[Ellipse]]:
    """The image regions of every known AU for a face with ``landmarks`` [68, 2] (0-based iBUG)."""
    p = np.asarray(landmarks, dtype=np.float64)
    d, angle = _eye_line(p)
    down = np.array([-np.sin(np.radians(angle)), np.cos(np.radians(angle))])

    def at(center: np.ndarray, a: float, b: float) -> Ellipse:
        return Ellipse((float(center[0]), float(center[1])), (a * d, b * d), angle)

    def circle(center: np.ndarray, r: float) -> Ellipse:
        return at(center, r, r)

    mouth_width = np.linalg.norm(p[54] - p[48]) / d
    mouth_height = np.linalg.norm(p[57] - p[51]) / d
    eye_width = (np.linalg.norm(p[39] - p[36]) + np.linalg.norm(p[45] - p[42])) / (2 * d)
    shapes = {
        1: [at(p[20], 0.34, 0.27), at(p[23], 0.34, 0.27)],  # inner brow raiser
        2: [at(p[18], 0.34, 0.27), at(p[25], 0.34, 0.27)],  # outer brow raiser
        4: [at((p[19] + p[24]) / 2, np.linalg.norm(p[24] - p[19]) / (2 * d) + 0.1, 0.27)],  # brow lowerer
        5: [at(p[36:42].mean(axis=0), 0.75 * eye_width, 0.2), at(p[42:48].mean(axis=0), 0.75 * eye_width, 0.2)],  # upper lid raiser
        7: [at(p[36:42].mean(axis=0), 0.75 * eye_width, 0.3), at(p[42:48].mean(axis=0), 0.75 * eye_width, 0.3)],  # lid tightener
        6: [at(p[41] + 0.45 * d * down, 0.34, 0.27), at(p[46] + 0.45 * d * down, 0.34, 0.27)],  # cheek raiser
        9: [circle(np.array([p[31, 0], p[29, 1]]), 0.2), circle(np.array([p[35, 0], p[29, 1]]), 0.2)],  # nose wrinkler
        10: [circle((p[48] + p[50]) / 2, 0.2), circle((p[52] + p[54]) / 2, 0.2)],  # upper lip raiser: midpoints of the upper lip halves
        12: [circle(p[48], 0.25), circle(p[54], 0.25)],  # lip corner puller
        15: [circle(p[48], 0.25), circle(p[54], 0.25)],  # lip corner depressor
        16: [circle(p[59], 0.2), circle(p[55], 0.2)],  # lower lip depressor
        17: [at((p[57] + p[8]) / 2, 0.4, 0.2)],  # chin raiser: between lower lip and chin
        20: [circle((p[48] + p[6]) / 2, 0.25), circle((p[54] + p[10]) / 2, 0.25)],  # lip stretcher
        25: [at(p[51], 0.3, 0.15), at(p[57], 0.3, 0.15)],  # lips part
    }
    mouth = [at(p[[48, 54, 51, 57]].mean(axis=0), mouth_width / 2, max(mouth_height / 2, 0.15))]
    for mouth_au in (23, 24, 26, 27):  # lip tightener / pressor, jaw drop, mouth stretch
        shapes[mouth_au] = mouth
    return shapes


def au_region_mask(au: int, landmarks: np.ndarray, height: int, width: int) -> np.ndarray:
    """bool [height, width]: pixels inside the regions of ``au``."""
    return _draw(au_regions(au, landmarks), height, width)


def _draw(regions: list[Ellipse], height: int, width: int) -> np.ndarray:
    """bool [height, width]: pixels inside any of ``regions``."""
    canvas = np.zeros((height, width), np.uint8)
    for e in regions:
        center = (int(round(e.center[0] * 16)), int(round(e.center[1] * 16)))
        axes = (max(1, int(round(e.axes[0] * 16))), max(1, int(round(e.axes[1] * 16))))
        cv2.ellipse(canvas, center, axes, e.angle, 0, 360, 1, -1, cv2.LINE_8, 4)
    return canvas > 0


def _smooth(mask: np.ndarray) -> np.ndarray:
    """3x3 box blur on a 28-cell grid (the longer side), resized back (bilinear)."""
    height, width = mask.shape
    cells = (max(1, round(_BLUR_GRID * width / max(height, width))), max(1, round(_BLUR_GRID * height / max(height, width))))
    small = cv2.resize(mask.astype(np.float32), cells, interpolation=cv2.INTER_AREA)
    small = cv2.blur(small, (3, 3), borderType=cv2.BORDER_CONSTANT)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


#: AU-map codebooks: ``ours`` (corrected, sized by the inter-ocular distance) and
#: ``authors`` (Study 2's code as it is, slips included: ``faces.au_authors``).
CODEBOOKS = ("ours", "authors")


def au_heatmap(expression: str, landmarks: np.ndarray, height: int, width: int, codebook: str = "ours") -> tuple[np.ndarray, bool]:
    """Per-image AU heatmap of ``expression``: ([height, width] float32 in [0, 1], valid).

    Each AU's regions are drawn and smoothed alone, the AUs max-combined and min-max
    normalised. Neutral (no AUs), faces without landmarks and faces whose AUs all fall
    outside the image give an all-zero map flagged invalid, to be left out of the
    alignment loss and the metrics."""
    if codebook not in CODEBOOKS:
        raise UserError(f"Unknown AU codebook '{codebook}': choose ours (corrected) or authors (Study 2's code as it is).")
    aus = (AU_CODEBOOK if codebook == "ours" else AUTHORS_CODEBOOK)[expression]
    empty = np.zeros((height, width), np.float32)
    if not aus or not np.isfinite(landmarks).all():
        return empty, False
    if codebook == "ours":
        regions = face_regions(landmarks)
        masks = [_draw(regions[au], height, width) for au in aus]
        maps = [_smooth(mask) for mask in masks if mask.any()]
    else:
        maps = [m for m in (authors_au_map(au, landmarks, height, width) for au in aus) if m is not None]
    if not maps:
        return empty, False
    combined = np.max(maps, axis=0)
    low, high = combined.min(), combined.max()
    if high <= low:
        return empty, False
    return ((combined - low) / (high - low)).astype(np.float32), True


def au_template_mask(expression: str, scale: float = 1.0) -> np.ndarray:
    """bool [round(275*scale), round(224*scale)]: the union of ``expression``'s AU regions on
    the template face (the AU-codebook mask family)."""
    height, width = round(TEMPLATE_HEIGHT * scale), round(TEMPLATE_WIDTH * scale)
    landmarks = template_points()[:68] * scale
    mask = np.zeros((height, width), bool)
    for au in AU_CODEBOOK[expression]:
        mask |= au_region_mask(au, landmarks, height, width)
    return mask
