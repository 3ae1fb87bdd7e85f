"""Is a 68-point fit a face? Three cheap checks of dlib's predicted points, and the face box
the points imply.

- ``shape_residual``: the points' distance to the template's 68 points (dlib's mean shape
  on a black image, ``faces.template``) after the best similarity alignment (Procrustes:
  shift, scale, rotation, no mirroring). It catches shapes no face has (a collapsed jaw,
  crossed eyes), not a face-like shape in the wrong place.
- ``refit_shift``: how far the points move when the predictor runs again in the box the
  points themselves imply (``box_from_points``). A good fit is a fixed point of
  predict -> box -> predict; points predicted in a wrong box (on the background, around a
  part of the face, far too large) are not, and move towards whatever the predictor
  locks on to.
- ``box_follow``: the share of a box's movement the points follow when the box moves by
  ``FOLLOW_SHIFT`` of its side left, right, up and down (``follow_boxes``). On a face the
  predictor holds on to the eyes, nose and mouth (~0 for real faces, up to ~0.6 for the
  flat-shaded synthetic ones); where there is no face, nothing holds the points and they
  move with the box (~1).

The first two are in units of the inter-ocular distance (outer eye corners, points 36 and 45: the
300-W normalisation), so they do not depend on the image size.

- ``face_seen``: whether a face detector sees a face where the points put it: the window of
  twice the points' box (``box_from_points``), turned so their eyes are level and resized
  so the face is ``SEEN_FACE`` px, HOG's
  detections in it at a lowered threshold, and the best score of one that matches the
  points' box (centre within ``SEEN_SHIFT`` of the side, side within ``SEEN_SCALE``); when
  none scores above the threshold, the CNN looks at the same window. Points that are wrong
  (fitted in a wrong box) put the face where there is none; points on a face put it where
  the detectors see one, whatever the expression (``datamodules.face_calibration``).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ferlens.faces.landmarks import face_detector, predict_points, run_cnn
from ferlens.faces.template import TEMPLATE_LANDMARKS

#: dlib's HOG detector box relative to the box around its 68 predicted points (centre shift
#: in x and y, and side, as fractions of the points' box's longer side). Measured: synthetic
#: faces at 224 px (0.000, -0.102, 0.978), scikit-image's 100 LFW faces at 25 px upscaled
#: (-0.017, -0.129, 1.025), the astronaut (-0.059, -0.124, 0.978).
BOX_FROM_POINTS = (0.0, -0.11, 1.0)
#: How far ``follow_boxes`` moves the box, fraction of its side.
FOLLOW_SHIFT = 0.1
_FOLLOW_DIRECTIONS = np.array([(1, 0), (-1, 0), (0, 1), (0, -1)], dtype=np.float64)
#: Predictor runs of ``box_checks``: one refit, four moved boxes.
BOX_CHECK_CALLS = 1 + len(_FOLLOW_DIRECTIONS)


def inter_ocular(points: np.ndarray) -> float:
    """Distance between the outer eye corners (points 36 and 45) of [68, 2] points."""
    return float(np.linalg.norm(points[36] - points[45]))


def box_from_points(points: np.ndarray) -> tuple[float, float, float, float]:
    """The square (left, top, right, bottom) where dlib's HOG detector would put the box of a
    face whose 68 points [68, 2] are ``points`` (``BOX_FROM_POINTS``), same pixels."""
    low, high = points.min(axis=0), points.max(axis=0)
    extent = float(max(high - low))
    shift_x, shift_y, side = BOX_FROM_POINTS
    center_x = (low[0] + high[0]) / 2 + shift_x * extent
    center_y = (low[1] + high[1]) / 2 + shift_y * extent
    half = side * extent / 2
    return (float(center_x - half), float(center_y - half), float(center_x + half), float(center_y + half))


@functools.cache
def _template() -> tuple[np.ndarray, float]:
    """The template's 68 points centred, and their inter-ocular distance."""
    return TEMPLATE_LANDMARKS - TEMPLATE_LANDMARKS.mean(axis=0), inter_ocular(TEMPLATE_LANDMARKS)


def shape_residual(points: np.ndarray) -> float:
    """Root-mean-square distance between [68, 2] ``points``, aligned onto the template by the
    best similarity transform (no reflection), and the template's points, in template
    inter-ocular distances (0: the mean shape; synthetic faces 0.02-0.17, real LFW faces
    0.07-0.21: ``datamodules.face_truth.plausibility_study``)."""
    template, template_iod = _template()
    centred = np.asarray(points, np.float64) - np.mean(points, axis=0)
    spread = float((centred**2).sum())
    if spread == 0:
        return float("inf")
    u, singular, vt = np.linalg.svd(centred.T @ template)
    if np.linalg.det(u @ vt) < 0:  # the best rotation, not a mirror image
        u[:, -1] *= -1
        singular[-1] *= -1
    rotation = u @ vt
    aligned = singular.sum() / spread * centred @ rotation
    return float(np.sqrt(((aligned - template) ** 2).sum(axis=1).mean()) / template_iod)


def refit_shift(points: np.ndarray, refit: np.ndarray) -> float:
    """Mean distance between [68, 2] ``points`` and ``refit`` (the predictor's points in
    ``box_from_points(points)``), in inter-ocular distances of ``points``."""
    iod = inter_ocular(points)
    if iod == 0:
        return float("inf")
    return float(np.linalg.norm(np.asarray(refit, np.float64) - points, axis=1).mean() / iod)


def follow_boxes(box: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    """``box`` moved by ``FOLLOW_SHIFT`` of its longer side right, left, down and up."""
    side = max(box[2] - box[0], box[3] - box[1])
    return [tuple(float(v) for v in np.asarray(box) + np.tile(direction * FOLLOW_SHIFT * side, 2)) for direction in _FOLLOW_DIRECTIONS]


def box_follow(points: np.ndarray, box: tuple[float, float, float, float], refits: list[np.ndarray]) -> float:
    """The share of the movement of the ``follow_boxes(box)`` that the points' centroid
    follows: ``refits`` are the predictor's [68, 2] points in those boxes, ``points`` in
    ``box`` itself (0: the points stay on the face; 1: they move with the box)."""
    moves = np.array([np.mean(refit, axis=0) - np.mean(points, axis=0) for refit in refits])
    offsets = _FOLLOW_DIRECTIONS * FOLLOW_SHIFT * max(box[2] - box[0], box[3] - box[1])
    return float((moves * offsets).sum() / (offsets**2).sum())


def box_checks(image: np.ndarray, box: tuple[float, float, float, float], points: np.ndarray) -> tuple[float, float]:
    """(``refit_shift``, ``box_follow``) of dlib's [68, 2] ``points`` predicted in ``box`` of
    uint8 [H, W, 3] ``image`` (same pixels): five more predictor runs."""
    refit = predict_points(image, _rounded(box_from_points(points)))
    moved = [predict_points(image, _rounded(shifted)) for shifted in follow_boxes(box)]
    return refit_shift(points, refit), box_follow(points, box, moved)


def _rounded(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    return tuple(int(np.floor(v + 0.5)) for v in box)


#: ``face_seen``: the face's side in the window the detectors look at (px; the window is
#: twice that), HOG's lowered threshold, and how well a detection must match the points' box.
SEEN_FACE, SEEN_THRESHOLD, SEEN_SHIFT, SEEN_SCALE = 80, -1.0, 0.2, 1.25


def face_seen(image: np.ndarray, points: np.ndarray, min_score: float, cnn: bool) -> tuple[float, str]:
    """(HOG's best score of a face where [68, 2] ``points`` put it in uint8 [H, W, 3]
    ``image``, NaN when it sees none; which detector saw it: "hog" when that score is above
    ``min_score``, else "cnn" when ``cnn`` and the CNN sees one there, else "")."""
    box = box_from_points(points)
    side = box[2] - box[0]
    if not side > 0:
        return float("nan"), ""
    points = np.asarray(points, np.float64)
    centre = points.mean(axis=0)
    eyes = points[42:48].mean(axis=0) - points[36:42].mean(axis=0)
    affine = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(np.degrees(np.arctan2(eyes[1], eyes[0]))), SEEN_FACE / side)
    level = points @ affine[:, :2].T + affine[:, 2]  # the points with their eyes level, the face SEEN_FACE px
    affine[:, 2] += SEEN_FACE - np.array(box_from_points(level)).reshape(2, 2).mean(axis=0)  # its box in the window's middle
    flags = cv2.INTER_AREA if side > SEEN_FACE else cv2.INTER_LINEAR
    window = cv2.warpAffine(image, affine, (2 * SEEN_FACE, 2 * SEEN_FACE), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    rectangles, scores, _ = face_detector().run(window, 0, SEEN_THRESHOLD)
    boxes = [(r.left(), r.top(), r.right(), r.bottom()) for r in rectangles]
    matching = [score for box, score in zip(boxes, scores, strict=True) if _matches(box)]
    score = max(matching) if matching else float("nan")
    if score > min_score:
        return float(score), "hog"
    if cnn and any(_matches((found.rect.left(), found.rect.top(), found.rect.right(), found.rect.bottom())) for found in run_cnn(window)):
        return float(score), "cnn"
    return float(score), ""


def _matches(box: tuple[int, int, int, int]) -> bool:
    """Whether a detection in a ``face_seen`` window is the face in its middle."""
    side = max(box[2] - box[0], box[3] - box[1])
    shift = np.hypot((box[0] + box[2]) / 2 - SEEN_FACE, (box[1] + box[3]) / 2 - SEEN_FACE)
    return 1 / SEEN_SCALE <= side / SEEN_FACE <= SEEN_SCALE and shift <= SEEN_SHIFT * SEEN_FACE
