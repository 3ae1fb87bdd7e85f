"""Preparing one face: find it (dlib's HOG detector, the dataset's box or the whole image),
its 68 landmarks (dlib's predictor or the dataset's own) and a square crop of it with the
landmarks moved into the crop's pixels.

Coordinates follow the landmarks and OpenCV's ``warpAffine``: pixel (row r, column c) has
its centre at x=c, y=r, so one affine [2, 3] maps both the pixels and the points. Boxes
are (left, top, right, bottom) in source pixels, dlib's rectangle corners for detections.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from faces.landmarks import face_detector, landmark_predictor, predict_points, to_uint8_rgb
from user_errors import UserError

STATUS_OK = "ok"
STATUS_SEVERAL = "several faces"  # the largest is kept
STATUS_WHOLE = "whole image"  # a detection failure replaced by the whole image (on_failure=whole)
STATUS_UNREADABLE = "unreadable"
STATUS_NO_FACE = "no face"
STATUS_TOO_SMALL = "face too small"
STATUS_OUTSIDE = "landmarks outside the image"
#: Every status, the usable ones first.
STATUSES = (STATUS_OK, STATUS_SEVERAL, STATUS_WHOLE, STATUS_UNREADABLE, STATUS_NO_FACE, STATUS_TOO_SMALL, STATUS_OUTSIDE)
#: Statuses that come with a crop and landmarks.
USABLE = (STATUS_OK, STATUS_SEVERAL, STATUS_WHOLE)
#: Failures ``on_failure=whole`` replaces by the whole image.
DETECTION_FAILURES = (STATUS_NO_FACE, STATUS_TOO_SMALL, STATUS_OUTSIDE)

DETECTORS = ("dlib", "box", "whole")
LANDMARK_SOURCES = ("dlib", "dataset")
ON_FAILURE = ("skip", "whole", "error")
#: Predicted points further outside the image than this fraction of the box side: "landmarks outside the image".
OUTSIDE_TOLERANCE = 0.1


@dataclass(frozen=True)
class FaceSettings:
    """How faces are found, landmarked and cropped (``configs/face``).

    Args:
        detector: "dlib" (HOG detector, largest face), "box" (the dataset's box; the
            extent of its landmarks when it ships landmarks but no box) or "whole" (the
            image is the face, as for pre-cropped datasets).
        landmarks: "dlib" (68-point predictor in the box) or "dataset" (the shipped points).
        upsample: dlib detector upsampling (finds smaller faces, slower).
        margin: added on every side of the box, fraction of its side (not for "whole").
        level_eyes: rotate the crop about the box centre so the eyes are level.
        size: side of the square crop, pixels.
        min_face: boxes whose longer side is below this (source pixels) are "face too small".
        on_failure: "skip" (the image is left out), "whole" (a detection failure falls back
            to the whole image) or "error" (preparation stops).
    """

    detector: str
    landmarks: str
    upsample: int = 1
    margin: float = 0.25
    level_eyes: bool = False
    size: int = 256
    min_face: int = 24
    on_failure: str = "skip"

    def __post_init__(self) -> None:
        for name, choices in (("detector", DETECTORS), ("landmarks", LANDMARK_SOURCES), ("on_failure", ON_FAILURE)):
            if getattr(self, name) not in choices:
                raise UserError(f"face.{name}={getattr(self, name)!r} is not valid: choose one of {', '.join(choices)}.")
        for name, low in (("upsample", 0), ("size", 8), ("min_face", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UserError(f"face.{name}={value!r} is not valid: use a whole number >= {low}.")
        if isinstance(self.margin, bool) or not isinstance(self.margin, int | float) or not 0 <= self.margin <= 2:
            raise UserError(f"face.margin={self.margin!r} is not valid: use a fraction of the face box side between 0 and 2.")
        if not isinstance(self.level_eyes, bool):
            raise UserError(f"face.level_eyes={self.level_eyes!r} is not valid: use true or false.")
        object.__setattr__(self, "margin", float(self.margin))  # 0 and 0.0 give the same digest

    def digest(self) -> str:
        """sha256 (hex) of the settings' canonical JSON: equal settings, equal digest."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class PreparedFace:
    """One image's preparation.

    Args:
        status: one of ``STATUSES``.
        crop: uint8 [size, size, 3] RGB (zeros outside the source image), or None when
            the status is not usable.
        points: [68, 2] float32 (x, y) in crop pixels, or None with ``crop``.
        box: the face box (left, top, right, bottom) in source pixels, or None when no
            face was found.
        face_count: faces the detector found (1 for "box" and "whole").
        affine: [2, 3] float64 source pixels -> crop pixels, or None with ``crop``.
        detector_calls: dlib detector runs (0 or 1).
        predictor_calls: dlib predictor runs (0 to 2: the box, then the whole image).
    """

    status: str
    crop: np.ndarray | None = None
    points: np.ndarray | None = None
    box: tuple[float, float, float, float] | None = None
    face_count: int = 0
    affine: np.ndarray | None = None
    detector_calls: int = 0
    predictor_calls: int = 0

    @property
    def usable(self) -> bool:
        return self.status in USABLE


def load_models(settings: FaceSettings) -> None:
    """Load the dlib detector and predictor ``settings`` will use in this thread (the
    predictor takes ~1 s), e.g. once per worker process before the images come."""
    if settings.detector == "dlib":
        face_detector()
    if settings.landmarks == "dlib" or (settings.on_failure == "whole" and settings.detector != "whole"):
        landmark_predictor()


def prepare_face(
    image: np.ndarray | None,
    settings: FaceSettings,
    box: tuple[float, float, float, float] | None = None,
    points: np.ndarray | None = None,
) -> PreparedFace:
    """Find, landmark and crop the face in ``image`` (gray/RGB/RGBA, 8 or 16 bit; None for
    an unreadable file, giving status "unreadable").

    ``box`` (left, top, right, bottom) and ``points`` ([68, 2] (x, y)) are the dataset's
    own, in image pixels; "box" detection needs one of them, "dataset" landmarks need
    ``points``. Never raises for a bad picture: the status says what went wrong."""
    if settings.detector == "box" and box is None and (points is None or settings.landmarks != "dataset"):
        raise UserError("face.detector=box needs the dataset's face box for every image: set face.detector=dlib to detect faces instead.")
    if settings.landmarks == "dataset" and points is None:
        raise UserError("face.landmarks=dataset needs the dataset's 68 landmarks for every image: set face.landmarks=dlib to predict them instead.")
    if image is None:
        return PreparedFace(STATUS_UNREADABLE)
    rgb = to_uint8_rgb(image)
    height, width = rgb.shape[:2]
    shipped = None if points is None else np.asarray(points, dtype=np.float32).reshape(68, 2)
    status, face_box, face_count, detector_calls = _find_box(rgb, settings, box, shipped)
    found, predictor_calls = None, 0
    if face_box is not None and _side(face_box) < settings.min_face:
        status = STATUS_TOO_SMALL
    elif face_box is not None:
        found, predictor_calls = _landmarks(rgb, settings, face_box, shipped)
        if settings.landmarks == "dlib" and _outside(found, face_box, width, height):
            status = STATUS_OUTSIDE
    whole = settings.detector == "whole"
    if status in DETECTION_FAILURES and settings.on_failure == "whole" and not whole:
        status, face_box, whole = STATUS_WHOLE, (0, 0, width, height), True
        found, calls = _landmarks(rgb, settings, face_box, shipped)
        predictor_calls += calls
    if status not in USABLE:
        return PreparedFace(status, box=face_box, face_count=face_count, detector_calls=detector_calls, predictor_calls=predictor_calls)
    if whole:
        center, side = ((width - 1) / 2, (height - 1) / 2), float(max(width, height))
    else:
        left, top, right, bottom = face_box
        center, side = ((left + right) / 2, (top + bottom) / 2), _side(face_box) * (1 + 2 * settings.margin)
    affine = crop_affine(center, side, settings.size, eye_angle(found) if settings.level_eyes else 0.0)
    crop = warp_crop(rgb, affine, settings.size)
    moved = (found.astype(np.float64) @ affine[:, :2].T + affine[:, 2]).astype(np.float32)
    return PreparedFace(status, crop, moved, face_box, face_count, affine, detector_calls, predictor_calls)


def _find_box(
    rgb: np.ndarray, settings: FaceSettings, box: tuple[float, float, float, float] | None, points: np.ndarray | None
) -> tuple[str, tuple[float, float, float, float] | None, int, int]:
    """(status, box or None, faces found, detector calls)."""
    height, width = rgb.shape[:2]
    if settings.detector == "whole":
        return STATUS_OK, (0, 0, width, height), 1, 0
    if settings.detector == "box":
        if box is None:  # the shipped landmarks' extent
            (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
            box = (float(left), float(top), float(right), float(bottom))
        return STATUS_OK, tuple(float(v) for v in box), 1, 0
    faces = face_detector()(rgb, settings.upsample)
    if len(faces) == 0:
        return STATUS_NO_FACE, None, 0, 1
    largest = max(faces, key=lambda r: r.width() * r.height())
    status = STATUS_SEVERAL if len(faces) > 1 else STATUS_OK
    return status, (largest.left(), largest.top(), largest.right(), largest.bottom()), len(faces), 1


def _landmarks(rgb: np.ndarray, settings: FaceSettings, box: tuple[float, float, float, float], points: np.ndarray | None) -> tuple[np.ndarray, int]:
    """([68, 2] float32 points in source pixels, predictor calls)."""
    if settings.landmarks == "dataset":
        return points, 0
    return predict_points(rgb, tuple(math.floor(v + 0.5) for v in box)), 1


def _side(box: tuple[float, float, float, float]) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


def _outside(points: np.ndarray, box: tuple[float, float, float, float], width: int, height: int) -> bool:
    """Whether some point lies outside the image (edges at -0.5 and size - 0.5) by more
    than ``OUTSIDE_TOLERANCE`` of the box side."""
    beyond = np.maximum(-0.5 - points, points - (np.array([width, height]) - 0.5)).max()
    return bool(beyond > OUTSIDE_TOLERANCE * _side(box))


def eye_angle(points: np.ndarray) -> float:
    """Angle (degrees, OpenCV's sense) that levels the eyes of 68 points [68, 2]."""
    right_eye, left_eye = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    return math.degrees(math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0]))


def crop_affine(center: tuple[float, float], side: float, size: int, angle: float = 0.0) -> np.ndarray:
    """[2, 3] float64 affine from source pixels to a ``size`` x ``size`` crop showing the
    square of side ``side`` (source pixels, edge to edge) centred on ``center`` (x, y),
    rotated by ``angle`` degrees about it: source x = cx - side / 2 (a pixel edge) goes to
    crop x = -0.5, the crop's left edge."""
    rotation = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), angle, 1.0)
    scale = size / side
    to_crop = np.array([[scale, 0, (size - 1) / 2 - scale * center[0]], [0, scale, (size - 1) / 2 - scale * center[1]]])
    return to_crop @ np.vstack([rotation, [0, 0, 1]])


def warp_crop(image: np.ndarray, affine: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` x ``size`` crop of ``image`` under ``affine`` (bilinear, zeros outside
    the image). Shrinking by more than 2x first area-averages the part of the image the
    crop sees, so small crops of large photos do not alias."""
    scale = math.sqrt(abs(np.linalg.det(affine[:, :2])))
    if scale < 0.5:
        image, affine = _shrink(image, affine, size, scale)
    return cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _shrink(image: np.ndarray, affine: np.ndarray, size: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The region of ``image`` the crop sees, area-resized by ``scale``, and the affine from
    it to the crop."""
    inverse = cv2.invertAffineTransform(affine)
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]]) @ inverse[:, :2].T + inverse[:, 2]
    height, width = image.shape[:2]
    x0, y0 = (int(np.clip(math.floor(v) - 1, 0, limit)) for v, limit in zip(corners.min(axis=0), (width, height), strict=True))
    x1, y1 = (int(np.clip(math.ceil(v) + 2, 0, limit)) for v, limit in zip(corners.max(axis=0), (width, height), strict=True))
    if x1 <= x0 or y1 <= y0:  # the crop lies outside the image: all zeros anyway
        return image, affine
    small_w, small_h = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    small = cv2.resize(image[y0:y1, x0:x1], (small_w, small_h), interpolation=cv2.INTER_AREA)
    fx, fy = small_w / (x1 - x0), small_h / (y1 - y0)
    # a pixel centre x of the small image sits at source x0 + (x + 0.5) / fx - 0.5
    to_source = np.array([[1 / fx, 0, x0 + 0.5 / fx - 0.5], [0, 1 / fy, y0 + 0.5 / fy - 0.5], [0, 0, 1]])
    return small, affine @ to_source
