"""Draws one procedural face with OpenCV from its 68 landmarks, AU textures included.

Geometry is given in face units (1.0 = jaw width, y down) and mapped to canvas pixels by a
similarity transform, so every primitive is drawn where its landmarks are. The same drawing
code paints either colours (the image) or part labels (a segmentation used to test that
each landmark sits on its feature).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_ONE = 1 << _SHIFT


class Part(IntEnum):
    """Labels of the part map (uint8)."""

    BACKGROUND = 0
    HAIR = 1
    SKIN = 2
    BROW = 3
    EYE = 4
    NOSE = 5
    LIP = 6
    MOUTH = 7
    WRINKLE = 8
    NECK = 9  # neck and ears: skin outside the face outline


@dataclass(frozen=True)
class Look:
    """Colours (RGB, 0-255) and style of one identity."""

    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    lips: tuple[float, float, float]
    iris: tuple[float, float, float]
    brow_thickness: float  # face units
    hair_volume: float  # scale of the hair ellipse, ~1
    hairline: float  # y of the hairline, face units
    forehead_top: float  # y of the top of the head, face units


@dataclass(frozen=True)
class Placement:
    """Similarity transform face units -> canvas pixels: p_px = scale * R(angle) p + offset."""

    scale: float  # canvas pixels per face unit
    angle_deg: float  # in-plane roll, counter-clockwise on screen
    offset: tuple[float, float]  # canvas pixels

    def to_px(self, points: np.ndarray) -> np.ndarray:
        """[N, 2] face units -> [N, 2] canvas pixels (pixel centres at integers)."""
        theta = np.deg2rad(self.angle_deg)
        c, s = np.cos(theta), np.sin(theta)
        rotation = np.array([[c, s], [-s, c]])
        return self.scale * np.asarray(points, dtype=np.float64) @ rotation.T + np.asarray(self.offset)


class _Painter:
    """Draws primitives given in face units, in colours or in part labels."""

    def __init__(self, canvas: np.ndarray, placement: Placement, look: Look, labels: bool) -> None:
        self.canvas = canvas
        self.placement = placement
        self.look = look
        self.labels = labels
        self.line_type = cv2.LINE_8 if labels else cv2.LINE_AA

    def color(self, part: Part, rgb: tuple[float, float, float], shade: float = 1.0) -> tuple[float, ...]:
        if self.labels:
            return (int(part),) * 3
        return tuple(float(np.clip(c * shade, 0, 255)) for c in rgb)

    def _fixed(self, points: np.ndarray) -> np.ndarray:
        return np.round(self.placement.to_px(points) * _ONE).astype(np.int32)

    def thickness(self, width: float) -> int:
        return max(1, int(round(width * self.placement.scale)))

    def polygon(self, points: np.ndarray, color: tuple[float, ...]) -> None:
        cv2.fillPoly(self.canvas, [self._fixed(points)], color, self.line_type, _SHIFT)

    def polyline(self, points: np.ndarray, color: tuple[float, ...], width: float, closed: bool = False) -> None:
        cv2.polylines(self.canvas, [self._fixed(points)], closed, color, self.thickness(width), self.line_type, _SHIFT)

    def ellipse(self, center: np.ndarray, axes: tuple[float, float], color: tuple[float, ...], tilt: float = 0.0) -> None:
        """Filled ellipse; `axes` are semi-axes in face units, `tilt` in degrees."""
        c = self._fixed(np.asarray(center, dtype=np.float64)[None])[0]
        a = (max(1, int(round(axes[0] * self.placement.scale * _ONE))), max(1, int(round(axes[1] * self.placement.scale * _ONE))))
        angle = tilt - self.placement.angle_deg
        cv2.ellipse(self.canvas, (int(c[0]), int(c[1])), a, angle, 0, 360, color, -1, self.line_type, _SHIFT)


def _arc(center: np.ndarray, half_length: float, bend: float, vertical: bool = False, n: int = 7) -> np.ndarray:
    """A gently curved stroke [n, 2] around `center` (face units); `bend` > 0 bows up/left."""
    t = np.linspace(-1.0, 1.0, n)
    along, across = t * half_length, -bend * (1 - t**2)
    points = np.stack([across, along] if vertical else [along, across], axis=1)
    return points + center


def _curve(start: np.ndarray, end: np.ndarray, bow: float, n: int = 7) -> np.ndarray:
    """Quadratic curve from `start` to `end` bowed sideways by `bow` face units."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    direction = end - start
    normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) + 1e-9)
    control = (start + end) / 2 + bow * normal
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end


def _head_outline(shape: np.ndarray, look: Look) -> np.ndarray:
    """Jaw points plus an elliptic forehead arc from point 16 over the top to point 0."""
    left, right = shape[0], shape[16]
    cx, cy = (left + right) / 2
    a = (right[0] - left[0]) / 2
    b = cy - look.forehead_top
    t = np.linspace(0.0, -np.pi, 15)[1:-1]
    arc = np.stack([cx + a * np.cos(t), cy + b * np.sin(t)], axis=1)
    return np.concatenate([shape[:17], arc])


def _draw_textures(p: _Painter, shape: np.ndarray, aus: dict[int, float]) -> None:
    """Wrinkles, folds and bulges of the active AUs, drawn on the skin."""
    skin = p.look.skin
    line = 0.012

    def crease(i: float) -> tuple[float, ...]:
        return p.color(Part.WRINKLE, skin, 1.0 - 0.5 * i)

    mid_brow = (shape[21] + shape[22]) / 2
    if 1 in aus:
        for k in range(3):
            p.polyline(_arc(mid_brow + (0, -0.07 - 0.035 * k), 0.08, 0.012), crease(aus[1]), line)
    if 2 in aus:
        for outer in (shape[18], shape[25]):
            for k in range(2):
                p.polyline(_arc(outer + (0, -0.075 - 0.035 * k), 0.06, 0.01), crease(aus[2]), line)
    if 4 in aus:
        for dx in (-0.02, 0.02):
            p.polyline(_arc(mid_brow + (dx, 0.0), 0.04, 0.004, vertical=True), crease(aus[4]), line)
    if 6 in aus:
        for eye, corner, side in ((range(36, 42), 36, -1), (range(42, 48), 45, 1)):
            below = shape[list(eye)].mean(axis=0) + (0, 0.1)
            p.ellipse(below, (0.085, 0.04), p.color(Part.WRINKLE, skin, 1.0 + 0.15 * aus[6]))
            p.polyline(_arc(below + (0, 0.045), 0.07, -0.015), crease(aus[6]), line)
            for angle in (-0.5, 0.0, 0.5):
                d = np.array([side * np.cos(angle), np.sin(angle)])
                p.polyline(np.stack([shape[corner] + 0.025 * d, shape[corner] + 0.07 * d]), crease(aus[6]), line)
    if 7 in aus:
        for lower in ([39, 40, 41, 36], [42, 47, 46, 45]):
            p.polyline(shape[lower] + (0, 0.02), crease(aus[7]), line)
    if 9 in aus:
        for k in range(3):
            p.polyline(_arc((shape[27] + shape[28]) / 2 + (0, 0.02 * (k - 1)), 0.035, -0.006), crease(aus[9]), line)
        for wing, side in ((31, -1), (35, 1)):
            p.polyline(np.stack([shape[wing] + (side * 0.015, -0.02), shape[wing] + (side * 0.03, -0.08)]), crease(aus[9]), line)
    if 10 in aus or 12 in aus:
        for wing, corner, side in ((31, 48, -1), (35, 54, 1)):
            start = shape[wing] + (side * 0.035, -0.01)
            if 12 in aus:
                end, strength = shape[corner] + (side * 0.05, 0.05), aus[12]
            else:
                end, strength = shape[corner] + (side * 0.02, -0.015), aus[10]
            p.polyline(_curve(start, end, -side * 0.02), crease(strength), 1.4 * line)
    if 15 in aus:
        for corner, side in ((48, -1), (54, 1)):
            p.polyline(np.stack([shape[corner] + (side * 0.01, 0.01), shape[corner] + (side * 0.025, 0.08)]), crease(aus[15]), line)
    if 17 in aus:
        chin = (shape[57] + shape[8]) / 2
        p.ellipse(chin, (0.06, 0.03), p.color(Part.WRINKLE, skin, 1.0 + 0.12 * aus[17]))
        for dx in (-0.03, 0.0, 0.03):
            p.ellipse(chin + (dx, 0.01), (0.007, 0.007), crease(aus[17]))
    if 20 in aus:
        for corner, side in ((48, -1), (54, 1)):
            p.polyline(np.stack([shape[corner] + (side * 0.025, 0.0), shape[corner] + (side * 0.07, 0.01)]), crease(aus[20]), line)


def _draw_eye(p: _Painter, outline: np.ndarray) -> None:
    """Sclera, iris and pupil clipped to the eye opening, then the lids."""
    look = p.look
    p.polygon(outline, p.color(Part.EYE, (245, 242, 238)))
    center = outline.mean(axis=0)
    width = np.linalg.norm(outline[3] - outline[0])
    corners = p.placement.to_px(outline)
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2
    h, w = p.canvas.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 > x0 and y1 > y0:
        roi = p.canvas[y0:y1, x0:x1]
        layer = roi.copy()
        inside = np.zeros(roi.shape[:2], np.uint8)
        sub = _Painter(layer, Placement(p.placement.scale, p.placement.angle_deg, (p.placement.offset[0] - x0, p.placement.offset[1] - y0)), look, p.labels)
        sub.ellipse(center, (0.3 * width, 0.3 * width), sub.color(Part.EYE, look.iris))
        sub.ellipse(center, (0.13 * width, 0.13 * width), sub.color(Part.EYE, (20, 20, 20)))
        mask_painter = _Painter(inside, sub.placement, look, True)
        mask_painter.polygon(outline, (1,))
        roi[inside > 0] = layer[inside > 0]
    p.polyline(outline[[0, 1, 2, 3]], p.color(Part.EYE, look.hair, 0.4), 0.016)
    p.polyline(outline[[3, 4, 5, 0]], p.color(Part.EYE, look.skin, 0.6), 0.008)


def _draw_mouth(p: _Painter, shape: np.ndarray, aus: dict[int, float]) -> None:
    look = p.look
    p.polygon(shape[48:60], p.color(Part.LIP, look.lips))
    if 23 in aus:
        p.polyline(shape[48:60], p.color(Part.LIP, look.lips, 1.0 - 0.4 * aus[23]), 0.012, closed=True)
    upper, lower = shape[[60, 61, 62, 63, 64]], shape[[64, 65, 66, 67, 60]]
    gap = float(np.mean(shape[[65, 66, 67], 1] - shape[[63, 62, 61], 1]))
    if gap > 0.008:
        p.polygon(shape[60:68], p.color(Part.MOUTH, (60, 20, 25)))
        teeth = p.color(Part.MOUTH, (235, 232, 220))
        p.polygon(np.concatenate([upper, upper[::-1] + (0, min(0.45 * gap, 0.03))]), teeth)
        if gap > 0.03:
            p.polygon(np.concatenate([lower, lower[::-1] - (0, min(0.25 * gap, 0.02))]), teeth)
    else:
        p.polyline(upper, p.color(Part.LIP, look.lips, 0.55), 0.01)


def draw_face(canvas: np.ndarray, shape: np.ndarray, placement: Placement, look: Look, aus: dict[int, float], labels: bool = False) -> None:
    """Draw a face with landmarks `shape` ([68, 2] face units) onto `canvas` ([H, W, 3] uint8)."""
    p = _Painter(canvas, placement, look, labels)
    volume = look.hair_volume
    p.ellipse(np.array([0.0, -0.3]), (0.62 * volume, 0.6 * volume), p.color(Part.HAIR, look.hair))
    neck_top, neck_bottom = shape[8, 1] - 0.15, shape[8, 1] + 1.0
    p.polygon(
        np.array([[shape[5, 0], neck_top], [shape[11, 0], neck_top], [shape[11, 0] + 0.05, neck_bottom], [shape[5, 0] - 0.05, neck_bottom]]),
        p.color(Part.NECK, look.skin, 0.82),
    )
    for jaw_point, side in ((2, -1), (14, 1)):
        p.ellipse(shape[jaw_point] + (side * 0.015, -0.08), (0.05, 0.11), p.color(Part.NECK, look.skin, 0.9))
    outline = _head_outline(shape, look)
    p.polygon(outline, p.color(Part.SKIN, look.skin))
    cap = outline[17:][outline[17:, 1] < look.hairline]
    if len(cap) >= 3:
        p.polygon(cap, p.color(Part.HAIR, look.hair))
    _draw_textures(p, shape, aus)
    brow_color = p.color(Part.BROW, look.hair, 0.7)
    for brow in (shape[17:22], shape[22:27]):
        p.polyline(brow, brow_color, look.brow_thickness)
    _draw_eye(p, shape[36:42])
    _draw_eye(p, shape[[45, 44, 43, 42, 47, 46]])
    nose = p.color(Part.NOSE, look.skin, 0.75)
    p.polyline(shape[27:31], p.color(Part.NOSE, look.skin, 0.88), 0.012)
    p.polyline(shape[31:36], nose, 0.012)
    for a, b in ((31, 32), (34, 35)):
        p.ellipse((shape[a] + shape[b]) / 2 + (0, -0.008), (0.014, 0.008), p.color(Part.NOSE, (40, 25, 25)))
    _draw_mouth(p, shape, aus)
