"""Preparing one face: find it (dlib's detection cascade, the dataset's box or the whole
image), its 68 landmarks (dlib's predictor or the dataset's own), check that they are a
plausible face, and make a square crop of it with the landmarks moved into the crop's
pixels.

Coordinates follow the landmarks and OpenCV's ``warpAffine``: pixel (row r, column c) has
its centre at x=c, y=r, so one affine [2, 3] maps both the pixels and the points. Boxes
are (left, top, right, bottom) in source pixels, dlib's rectangle corners for detections.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np

from ferlens.faces.detection import PAD_MODES, STEPS, DetectionView, detect, run_step
from ferlens.faces.judge import RESCUE_CNN, RESCUE_WHOLE, Verdict, judge_fit, rounded
from ferlens.faces.landmarks import cnn_face_detector, face_detector, landmark_predictor, predict_points, to_uint8_rgb
from ferlens.faces.plausibility import SEEN_THRESHOLD, box_from_points, inter_ocular
from ferlens.user_errors import UserError

Box = tuple[float, float, float, float]

STATUS_OK = "ok"
STATUS_SEVERAL = "several faces"  # the largest is kept
STATUS_WHOLE = "whole image"  # a detection failure replaced by the whole image (on_failure=whole)
STATUS_UNREADABLE = "unreadable"
STATUS_NO_FACE = "no face"
STATUS_TOO_SMALL = "face too small"
STATUS_OUTSIDE = "landmarks outside the image"
STATUS_IMPLAUSIBLE = "implausible landmarks"  # faces.plausibility: no face has this shape, or the fit is not where the face is
#: Every status, the usable ones first.
STATUSES = (STATUS_OK, STATUS_SEVERAL, STATUS_WHOLE, STATUS_UNREADABLE, STATUS_NO_FACE, STATUS_TOO_SMALL, STATUS_OUTSIDE, STATUS_IMPLAUSIBLE)
#: Statuses that come with a crop and landmarks.
USABLE = (STATUS_OK, STATUS_SEVERAL, STATUS_WHOLE)
#: Failures ``on_failure=whole`` replaces by the whole image.
DETECTION_FAILURES = (STATUS_NO_FACE, STATUS_TOO_SMALL, STATUS_OUTSIDE, STATUS_IMPLAUSIBLE)

DETECTORS = ("dlib", "dlib_cnn", "box", "whole")
LANDMARK_SOURCES = ("dlib", "dataset")
ON_FAILURE = ("skip", "whole", "error")
ON_CLASS_BIAS = ("warn", "error")
#: The points a crop cannot do without: outer and inner eye corners, nose tip, mouth corners.
CORE_POINTS = (36, 39, 42, 45, 30, 48, 54)
#: One of ``CORE_POINTS`` further outside the image than this (inter-ocular distances):
#: "landmarks outside the image". The other points may lie anywhere.
OUTSIDE_TOLERANCE = 0.1
#: Step names in the report besides the detection steps: the dataset's box, the whole image.
STEP_BOX, STEP_WHOLE = "box", "whole"


@dataclass(frozen=True)
class FaceSettings:
    """How faces are found, landmarked, checked and cropped (``configs/face``).

    Args:
        detector: "dlib" (the cascade from the HOG detector, largest face), "dlib_cnn"
            (the cascade from dlib's CNN / MMOD detector), "box" (the dataset's box; the
            extent of its landmarks when it ships landmarks but no box) or "whole" (the
            image is the face, as for pre-cropped datasets: the study's protocol).
        landmarks: "dlib" (68-point predictor in the box) or "dataset" (the shipped points).
        upsample: the first HOG step's upsampling (finds smaller faces, slower).
        margin: added on every side of the box, fraction of its side (not for "whole").
        level_eyes: rotate the crop about the box centre so the eyes are level.
        size: side of the square crop, pixels.
        min_face: boxes whose longer side is below this (source pixels) are "face too small".
        on_failure: "skip" (the image is left out), "whole" (a detection failure falls back
            to the whole image) or "error" (preparation stops).
        pad: border added on every side of the image before detection, fraction of its
            longer side (0: none), so that a tight crop has a margin around the face.
        pad_mode: the border's pixels: "edge" (the outermost row or column repeated),
            "reflect" (mirrored) or "constant" (the image's mean colour).
        min_side: images whose shorter side (padded) is below this are resized up to it
            before detection (pixels; 0: never).
        cascade: detection steps tried, in order, only on images the previous step missed
            (``faces.detection.STEPS``: "hog_upsampled", "cnn"; the detector's own first
            step is left out of it).
        cnn_side: the CNN step runs on the padded image resized to this longer side
            (pixels; 0: as it is).
        refine: for boxes not drawn by the HOG detector (the CNN's, the whole image of
            ``on_failure=whole``): times the landmarks are predicted again in the box
            their last prediction implies (``faces.plausibility.box_from_points``).
        max_shape_residual: landmarks further than this from the mean face shape after
            Procrustes alignment (inter-ocular distances) are "implausible landmarks" (0: no check).
        max_refit_shift: landmarks in a detected or refined box that move more than this
            when predicted again in the box they imply (inter-ocular distances) are
            "implausible landmarks" (0: no check, the default: it refused strong expressions).
        max_box_follow: so are landmarks in a detected or refined box that follow more
            than this share of the box's movement when it moves (``faces.plausibility.
            box_follow``; 0: no check, the default).
        face_seen: landmarks in a detected or refined box are "implausible landmarks" unless
            a detector sees a face where they put it (``faces.plausibility.face_seen``: HOG
            above ``min_face_score``, else the CNN when it is in the cascade).
        min_face_score: HOG's detection score that counts as seeing the face (dlib's own
            threshold is 0; the lowered threshold finds blurred and small faces).
        max_class_drop: a class that loses more than this fraction of its images in face
            preparation is named in a warning (``datamodules.face_prep``).
        max_class_gap: so is a set whose classes' drop rates differ by more than this.
        on_class_bias: "warn" or "error" (stop) when a class drop exceeds the above.
    """

    detector: str
    landmarks: str
    upsample: int = 0
    margin: float = 0.25
    level_eyes: bool = False
    size: int = 256
    min_face: int = 16
    on_failure: str = "skip"
    pad: float = 0.25
    pad_mode: str = "edge"
    min_side: int = 200
    cascade: tuple[str, ...] = ("hog_upsampled", "cnn")
    cnn_side: int = 200
    refine: int = 2
    max_shape_residual: float = 0.3
    max_refit_shift: float = 0.0
    max_box_follow: float = 0.0
    face_seen: bool = True
    min_face_score: float = -0.6
    max_class_drop: float = 0.1
    max_class_gap: float = 0.1
    on_class_bias: str = "warn"

    def __post_init__(self) -> None:
        for name, choices in (
            ("detector", DETECTORS),
            ("landmarks", LANDMARK_SOURCES),
            ("on_failure", ON_FAILURE),
            ("pad_mode", PAD_MODES),
            ("on_class_bias", ON_CLASS_BIAS),
        ):
            if getattr(self, name) not in choices:
                raise UserError(f"face.{name}={getattr(self, name)!r} is not valid: choose one of {', '.join(choices)}.")
        for name, low in (("upsample", 0), ("size", 8), ("min_face", 0), ("min_side", 0), ("cnn_side", 0), ("refine", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UserError(f"face.{name}={value!r} is not valid: use a whole number >= {low}.")
        fractions = (
            ("margin", 2, "a fraction of the face box side"),
            ("pad", 2, "a fraction of the image's longer side"),
            ("max_shape_residual", 10, "inter-ocular distances (0: no check)"),
            ("max_refit_shift", 10, "inter-ocular distances (0: no check)"),
            ("max_box_follow", 10, "a share of the box's movement (0: no check)"),
            ("max_class_drop", 1, "a fraction of a class's images"),
            ("max_class_gap", 1, "a difference of two classes' drop fractions"),
        )
        for name, high, unit in fractions:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
                raise UserError(f"face.{name}={value!r} is not valid: use {unit} between 0 and {high}.")
            object.__setattr__(self, name, float(value))  # 0 and 0.0 give the same digest
        for name in ("level_eyes", "face_seen"):
            if not isinstance(getattr(self, name), bool):
                raise UserError(f"face.{name}={getattr(self, name)!r} is not valid: use true or false.")
        score = self.min_face_score
        if isinstance(score, bool) or not isinstance(score, int | float) or not -1 <= score <= 3:
            raise UserError(f"face.min_face_score={score!r} is not valid: use a HOG detection score between -1 and 3.")
        object.__setattr__(self, "min_face_score", float(score))
        cascade = [self.cascade] if isinstance(self.cascade, str) else self.cascade
        if not isinstance(cascade, Sequence) or any(step not in STEPS for step in cascade):
            raise UserError(f"face.cascade={self.cascade!r} is not valid: list steps out of {', '.join(STEPS)}, e.g. [hog_upsampled, cnn], or [] for none.")
        object.__setattr__(self, "cascade", tuple(str(step) for step in cascade))

    def detection_steps(self) -> tuple[str, ...]:
        """The detection steps in the order they run ("hog" or "cnn" first, by ``detector``);
        empty for the "box" and "whole" detectors."""
        if self.detector not in ("dlib", "dlib_cnn"):
            return ()
        first = "hog" if self.detector == "dlib" else "cnn"
        return (first, *dict.fromkeys(step for step in self.cascade if step != first))

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
        face_count: faces the detection step found (1 for "box" and "whole").
        affine: [2, 3] float64 source pixels -> crop pixels, or None with ``crop``.
        detector_calls: dlib detector runs (one per cascade step tried).
        predictor_calls: dlib predictor runs (the box, refinements, the plausibility
            refit, the whole image).
        step: what found the face box: a detection step ("hog", "hog_upsampled", "cnn"),
            "box", "whole", or "" when nothing did.
        pad: the border added before detection, source pixels (0: none).
        outside: predicted points outside the image (kept where they are: the crop samples
            beyond the edge; only ``CORE_POINTS`` must lie inside).
        rescue: how a fit the landmark check refused was saved (``faces.judge.RESCUES``),
            "" when none was needed.
        image_side: the source image's longer side, pixels (0: unreadable).
        shape_residual: ``faces.plausibility.shape_residual`` of dlib's points (NaN when
            the points are the dataset's or none were predicted).
        refit_shift: ``faces.plausibility.refit_shift`` (NaN when not checked).
        box_follow: ``faces.plausibility.box_follow`` (NaN when not checked).
        face_score: HOG's score of a face where the points put it (``faces.plausibility.
            face_seen``; NaN when it saw none or it was not looked for).
        seen_by: the detector that saw the face there: "hog", "cnn", "" (none: refused) or
            "-" (not looked for: the dataset's points or box, or ``face_seen`` off).
    """

    status: str
    crop: np.ndarray | None = None
    points: np.ndarray | None = None
    box: tuple[float, float, float, float] | None = None
    face_count: int = 0
    affine: np.ndarray | None = None
    detector_calls: int = 0
    predictor_calls: int = 0
    step: str = ""
    pad: int = 0
    outside: int = 0
    rescue: str = ""
    shape_residual: float = math.nan
    refit_shift: float = math.nan
    box_follow: float = math.nan
    face_score: float = math.nan
    seen_by: str = "-"
    image_side: int = 0

    @property
    def usable(self) -> bool:
        return self.status in USABLE


def load_models(settings: FaceSettings) -> None:
    """Load the dlib models ``settings`` will use in this thread (the predictor takes ~1 s),
    e.g. once per worker process before the images come."""
    steps = settings.detection_steps()
    if {"hog", "hog_upsampled"} & set(steps):
        face_detector()
    if "cnn" in steps:
        cnn_face_detector()
    if settings.landmarks == "dlib" or (settings.on_failure == "whole" and settings.detector != "whole"):
        landmark_predictor()


@dataclass
class _Fit:
    """Work in progress on one image: the face box and points in source pixels, where they
    came from and what it cost."""

    status: str
    box: tuple[float, float, float, float] | None = None
    points: np.ndarray | None = None
    step: str = ""
    face_count: int = 0
    detector_calls: int = 0
    predictor_calls: int = 0
    outside: int = 0
    rescue: str = ""
    shape_residual: float = math.nan
    refit_shift: float = math.nan
    box_follow: float = math.nan
    face_score: float = math.nan
    seen_by: str = "-"
    whole_crop: bool = False  # crop the whole image (detector=whole, or an unrefined whole-image fallback)


def prepare_face(
    image: np.ndarray | None,
    settings: FaceSettings,
    box: tuple[float, float, float, float] | None = None,
    points: np.ndarray | None = None,
) -> PreparedFace:
    """Find, landmark, check and crop the face in ``image`` (gray/RGB/RGBA, 8 or 16 bit;
    None for an unreadable file, giving status "unreadable").

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
    detecting = settings.detector in ("dlib", "dlib_cnn")
    falls_back = settings.on_failure == "whole" and settings.detector != "whole"
    view = DetectionView.of(rgb, settings.pad, settings.pad_mode, settings.min_side) if detecting or falls_back else None
    if detecting:
        fit = _detect_and_fit(view, settings, shipped)
    else:
        fit = _fit_given_box(rgb, settings, box, shipped)
    if fit.status in DETECTION_FAILURES and falls_back:
        calls = (fit.detector_calls, fit.predictor_calls)
        fit = _fit_whole_image(view, settings, shipped)
        fit.detector_calls, fit.predictor_calls = calls[0], calls[1] + fit.predictor_calls
    pad = view.pad if view is not None and (detecting or fit.step == STEP_WHOLE) else 0
    common = {"face_count": fit.face_count, "detector_calls": fit.detector_calls, "predictor_calls": fit.predictor_calls, "step": fit.step, "pad": pad}
    common["image_side"] = max(width, height)
    checks = {name: getattr(fit, name) for name in ("outside", "rescue", "seen_by", "shape_residual", "refit_shift", "box_follow", "face_score")}
    if fit.status not in USABLE:
        return PreparedFace(fit.status, box=fit.box, **common, **checks)
    if fit.whole_crop:
        center, side = ((width - 1) / 2, (height - 1) / 2), float(max(width, height))
    else:
        left, top, right, bottom = fit.box
        center, side = ((left + right) / 2, (top + bottom) / 2), _side(fit.box) * (1 + 2 * settings.margin)
    affine = crop_affine(center, side, settings.size, eye_angle(fit.points) if settings.level_eyes else 0.0)
    crop = warp_crop(rgb, affine, settings.size)
    moved = (fit.points.astype(np.float64) @ affine[:, :2].T + affine[:, 2]).astype(np.float32)
    return PreparedFace(fit.status, crop, moved, fit.box, affine=affine, **common, **checks)


def _fit_given_box(rgb: np.ndarray, settings: FaceSettings, box: tuple[float, float, float, float] | None, points: np.ndarray | None) -> _Fit:
    """The "box" and "whole" detectors: the dataset's box (or its points' extent) or the
    whole image, points from the dataset or predicted in the source image."""
    height, width = rgb.shape[:2]
    if settings.detector == "whole":
        face_box, step = (0, 0, width, height), STEP_WHOLE
    elif box is None:  # the shipped landmarks' extent
        (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
        face_box, step = (float(left), float(top), float(right), float(bottom)), STEP_BOX
    else:
        face_box, step = tuple(float(v) for v in box), STEP_BOX
    fit = _Fit(STATUS_OK, face_box, step=step, face_count=1, whole_crop=settings.detector == "whole")
    if _side(face_box) < settings.min_face:
        fit.status = STATUS_TOO_SMALL
        return fit
    if settings.landmarks == "dataset":
        fit.points = points
        return fit
    predicted = predict_points(rgb, rounded(face_box))
    verdict = judge_fit(rgb, settings, face_box, predicted, check_box=False, rescue=False)
    _take(fit, verdict, 1)
    if verdict.passed:
        _place(fit, verdict.points, width, height)
    return fit


def _detect_and_fit(view: DetectionView, settings: FaceSettings, points: np.ndarray | None) -> _Fit:
    """The "dlib" and "dlib_cnn" detectors: the cascade on the view, then the points (the
    dataset's, or predicted in the view, refined when the CNN drew the box) and their check
    with its rescues: the settled box, then the CNN's box and the whole image."""
    steps = settings.detection_steps()
    found = detect(view, steps, settings.upsample, settings.cnn_side)
    calls = sum(found.calls.values())
    if found.box is None:
        return _Fit(STATUS_NO_FACE, detector_calls=calls)
    status = STATUS_SEVERAL if found.face_count > 1 else STATUS_OK
    fit = _Fit(status, view.box_to_source(found.box), step=found.step, face_count=found.face_count, detector_calls=calls)
    if _side(fit.box) < settings.min_face:
        fit.status = STATUS_TOO_SMALL
        return fit
    if settings.landmarks == "dataset":
        fit.points = points
        return fit
    refine = settings.refine if found.step == "cnn" else 0
    _predict_in_view(view, settings, fit, found.box, refine)
    if fit.status != STATUS_IMPLAUSIBLE:
        return fit
    others: list[tuple[str, tuple[float, float, float, float] | None]] = []
    if "cnn" in steps and found.step != "cnn":
        cnn = run_step(view.image, "cnn", settings.upsample, settings.cnn_side)
        fit.detector_calls += 1
        others.append((RESCUE_CNN, max(cnn, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])) if cnn else None))
    others.append((RESCUE_WHOLE, view.box_to_view((0, 0, *view.source_size))))
    for rescue, box in others:
        if box is None:
            continue
        retry = _Fit(status, view.box_to_source(box), step=found.step, face_count=found.face_count)
        _predict_in_view(view, settings, retry, box, settings.refine)
        fit.predictor_calls += retry.predictor_calls
        if retry.status != STATUS_IMPLAUSIBLE:
            retry.rescue = rescue
            retry.detector_calls, retry.predictor_calls = fit.detector_calls, fit.predictor_calls
            return retry
    return fit


def _fit_whole_image(view: DetectionView, settings: FaceSettings, points: np.ndarray | None) -> _Fit:
    """``on_failure=whole`` (and the misses of a tight-crop set): the whole image as the face
    box, the points predicted in it and refined ``settings.refine`` times (the box follows
    them), or the dataset's. The detectors missed this face, so for ``face_seen`` any HOG
    detection matching the points counts (``SEEN_THRESHOLD``, not ``min_face_score``)."""
    whole = (0, 0, *view.source_size)
    fit = _Fit(STATUS_WHOLE, whole, step=STEP_WHOLE, whole_crop=settings.landmarks == "dataset" or settings.refine == 0)
    if settings.landmarks == "dataset":
        fit.points = points
        return fit
    lenient = replace(settings, min_face_score=SEEN_THRESHOLD)  # no detector found this face: any matching HOG detection counts
    return _predict_in_view(view, lenient, fit, view.box_to_view(whole), settings.refine, check_box=settings.refine > 0)


def _predict_in_view(view: DetectionView, settings: FaceSettings, fit: _Fit, box: Box, refine: int, check_box: bool = True) -> _Fit:
    """dlib's points in ``box`` (view pixels), predicted again ``refine`` times in the box
    they imply, then judged (``faces.judge``: the shape and, ``check_box``, the refit shift
    and box follow; an unstable fit gets its box settled first), then placed: the eye, nose
    tip and mouth corners must lie in the image, the other points may fall anywhere (the
    crop samples beyond the edge). Fills ``fit`` (source pixels)."""
    points = predict_points(view.image, rounded(box))
    calls = 1
    for _ in range(refine):
        box = box_from_points(points)
        points = predict_points(view.image, rounded(box))
        calls += 1
    verdict = judge_fit(view.image, settings, box, points, check_box=check_box)
    _take(fit, verdict, calls)
    if verdict.passed:
        if refine or verdict.rescue:
            fit.box = view.box_to_source(verdict.box)
        _place(fit, view.to_source(verdict.points), *view.source_size)
    return fit


def _take(fit: _Fit, verdict: Verdict, calls: int) -> None:
    """Copy ``verdict``'s measures, rescue and cost into ``fit``; refused: implausible."""
    fit.predictor_calls += calls + verdict.predictor_calls
    fit.shape_residual, fit.refit_shift, fit.box_follow = verdict.shape_residual, verdict.refit_shift, verdict.box_follow
    fit.face_score, fit.seen_by = verdict.face_score, verdict.seen_by
    fit.rescue = verdict.rescue
    if not verdict.passed:
        fit.status, fit.points = STATUS_IMPLAUSIBLE, None


def _place(fit: _Fit, points: np.ndarray, width: int, height: int) -> None:
    """Keep [68, 2] source-pixel ``points`` in ``fit`` and count those outside the image; when
    an eye corner, the nose tip or a mouth corner lies further outside than
    ``OUTSIDE_TOLERANCE`` inter-ocular distances: "landmarks outside the image"."""
    beyond = np.maximum(-0.5 - points, points - (np.array([width, height]) - 0.5)).max(axis=1)
    fit.outside = int((beyond > 0).sum())
    if beyond[list(CORE_POINTS)].max() > OUTSIDE_TOLERANCE * inter_ocular(points):
        fit.status, fit.points = STATUS_OUTSIDE, None
        return
    fit.points = np.asarray(points, np.float32)


def _side(box: tuple[float, float, float, float]) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


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
