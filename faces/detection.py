"""The detection cascade of face preparation: dlib's HOG detector on a padded view of the
image first, then, only for images the previous step missed, the next steps
(``face.cascade``: the HOG detector with one more upsampling, dlib's CNN / MMOD detector).

A view is the image with a border on every side (``pad``, a fraction of its longer side;
``pad_mode`` edge, reflect or constant), so that a tight crop has the margin around the
face that the detectors need, resized up (bilinear) when its shorter side is below
``min_side`` so that a small face is large enough for them. The CNN runs on the view resized
to ``cnn_side`` pixels on its longer side: it finds faces from ~70 px on (a tight crop
fills two thirds of its padded view, a face with the usual margin about a third), and on
the CPU its time grows with the pixels (~0.15 s at 200 x 200, one core). Points and boxes move between source and view pixels with
``DetectionView.to_source`` / ``to_view`` (pixel centres at integers).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import dlib
import numpy as np

from ferlens.faces.landmarks import face_detector, run_cnn

#: Detection steps: HOG (``face.upsample``), HOG with one more upsampling, the CNN (MMOD).
STEPS = ("hog", "hog_upsampled", "cnn")
PAD_MODES = ("edge", "reflect", "constant")  # constant: the image's mean colour
_BORDERS = {"edge": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT_101, "constant": cv2.BORDER_CONSTANT}

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class DetectionView:
    """``image`` uint8 [h, w, 3]: the source (``source_size`` (width, height) pixels) with
    ``pad`` pixels added on every side, then scaled by ``scale`` (x, y; view pixels per
    source pixel)."""

    image: np.ndarray
    pad: int
    scale: tuple[float, float]
    source_size: tuple[int, int]

    @classmethod
    def of(cls, rgb: np.ndarray, pad: float, pad_mode: str, min_side: int) -> DetectionView:
        """The view of uint8 [H, W, 3] ``rgb`` with a border of ``pad`` x its longer side
        (rounded to whole pixels), resized up to ``min_side`` on its shorter side if smaller."""
        height, width = rgb.shape[:2]
        border = round(pad * max(height, width))
        image = rgb
        if border:
            value = [float(v) for v in rgb.reshape(-1, 3).mean(axis=0)] if pad_mode == "constant" else None
            image = cv2.copyMakeBorder(rgb, border, border, border, border, _BORDERS[pad_mode], value=value)
        padded_h, padded_w = image.shape[:2]
        if min(padded_h, padded_w) < min_side:
            factor = min_side / min(padded_h, padded_w)
            size = (round(padded_w * factor), round(padded_h * factor))
            image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
        return cls(np.ascontiguousarray(image), border, (image.shape[1] / padded_w, image.shape[0] / padded_h), (width, height))

    def to_source(self, xy: np.ndarray) -> np.ndarray:
        """[..., 2] view pixels (x, y) -> source pixels."""
        return (np.asarray(xy, np.float64) + 0.5) / self.scale - 0.5 - self.pad

    def to_view(self, xy: np.ndarray) -> np.ndarray:
        """[..., 2] source pixels (x, y) -> view pixels."""
        return (np.asarray(xy, np.float64) + self.pad + 0.5) * self.scale - 0.5

    def box_to_source(self, box: Box) -> Box:
        corners = self.to_source(np.array([box[:2], box[2:]]))
        return tuple(float(v) for v in corners.ravel())

    def box_to_view(self, box: Box) -> Box:
        corners = self.to_view(np.array([box[:2], box[2:]]))
        return tuple(float(v) for v in corners.ravel())


@dataclass(frozen=True)
class Detection:
    """What the cascade found. ``box``: the largest face (left, top, right, bottom) in view
    pixels, or None; ``step``: the step that found it ("" when none did); ``face_count``:
    faces that step found; ``calls``: detector runs per step (the steps tried)."""

    box: Box | None
    step: str
    face_count: int
    calls: dict[str, int]


def detect(view: DetectionView, steps: tuple[str, ...], upsample: int, cnn_side: int) -> Detection:
    """Run ``steps`` (of ``STEPS``) in order on ``view`` until one finds a face; the largest
    face of that step is kept."""
    calls: dict[str, int] = {}
    for step in steps:
        calls[step] = calls.get(step, 0) + 1
        rectangles = run_step(view.image, step, upsample, cnn_side)
        if rectangles:
            largest = max(rectangles, key=lambda box: (box[2] - box[0]) * (box[3] - box[1]))
            return Detection(largest, step, len(rectangles), calls)
    return Detection(None, "", 0, calls)


def run_step(image: np.ndarray, step: str, upsample: int, cnn_side: int) -> list[Box]:
    """Face boxes (view pixels) one step (of ``STEPS``) finds in ``image``."""
    if step == "hog":
        return [_corners(r) for r in face_detector()(image, upsample)]
    if step == "hog_upsampled":
        return [_corners(r) for r in face_detector()(image, upsample + 1)]
    if step == "cnn":
        height, width = image.shape[:2]
        factor = cnn_side / max(height, width) if cnn_side else 1.0
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        resized = image if size == (width, height) else cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
        scale = np.array([width / resized.shape[1], height / resized.shape[0]] * 2)
        boxes = []
        for found in run_cnn(resized):
            corners = (np.array(_corners(found.rect)) + 0.5) * scale - 0.5
            boxes.append(tuple(float(v) for v in corners))
        return boxes
    raise ValueError(f"unknown detection step {step!r}")


def _corners(rectangle: dlib.rectangle) -> Box:
    return (float(rectangle.left()), float(rectangle.top()), float(rectangle.right()), float(rectangle.bottom()))
