"""Is a 68-point fit right? The landmark check (``faces.plausibility``): a detector must see a
face where the points put it (``face_seen``), the shape must be a face's (shape residual),
and, when their thresholds are set, the refit shift and box follow must be small. Before a
fit is refused, its rescue: predict again in the box the points imply until the points
settle (dlib's predictor is least stable on the strongest expressions, so a first fit of an
eyes-shut, nose-wrinkled face can sit off the face although the face is there). A settled
fit that stayed near its box is checked again; the caller tries the other box sources (the
CNN's box, the whole image) when it is refused too.

The defaults were calibrated on known truth (``datamodules.face_calibration``): faces at
full intensity of every expression, degraded, against points predicted in wrong boxes. The
stability checks (refit shift, box follow) refused strong expressions as wrong; a face
seen where the points are refuses wrong points without asking how usual the face looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ferlens.faces.landmarks import predict_points
from ferlens.faces.plausibility import BOX_CHECK_CALLS, box_checks, box_from_points, face_seen, inter_ocular, shape_residual

if TYPE_CHECKING:
    from ferlens.faces.prepare import FaceSettings

Box = tuple[float, float, float, float]

#: Rescue names in the report: the fit itself passed (""), it passed once its box settled,
#: or another box source gave a fit that passed.
RESCUE_SETTLED, RESCUE_CNN, RESCUE_WHOLE = "settled box", "cnn box", "whole image"
RESCUES = (RESCUE_SETTLED, RESCUE_CNN, RESCUE_WHOLE)
#: Predictions at most while a box settles, and the mean move (inter-ocular distances)
#: below which it has.
SETTLE_ROUNDS, SETTLED = 6, 0.01
#: A settled box must stay near the box the fit started from: centres at most this fraction
#: of the side apart, sides at most this factor apart.
NEAR_SHIFT, NEAR_SCALE = 0.2, 1.25


@dataclass(frozen=True)
class Verdict:
    """The check of one fit. ``points`` [68, 2] (image pixels) and ``box`` of the fit that
    passed, or ``points`` None when refused (``box`` then the one tried first); ``rescue``:
    "" when the fit passed as it was, else ``RESCUE_SETTLED``; the measures of the fit
    checked (NaN when not measured; ``seen_by``: the detector that saw the face, "" none);
    ``predictor_calls`` spent."""

    points: np.ndarray | None
    box: Box
    rescue: str
    shape_residual: float
    refit_shift: float
    box_follow: float
    face_score: float
    seen_by: str
    predictor_calls: int

    @property
    def passed(self) -> bool:
        return self.points is not None


def judge_fit(image: np.ndarray, settings: FaceSettings, box: Box, points: np.ndarray, check_box: bool = True, rescue: bool = True) -> Verdict:
    """Check dlib's [68, 2] ``points`` predicted in ``box`` of uint8 [H, W, 3] ``image`` (same
    pixels) against ``settings``' thresholds (``check_box``: the refit shift and box follow
    too, else the shape only); when they fail and ``rescue``, settle the box and check again."""
    measures, calls = _measures(image, box, points, check_box, settings)
    if _passes(measures, settings):
        return Verdict(np.asarray(points, np.float32), box, "", *measures, calls)
    if not rescue:
        return Verdict(None, box, "", *measures, calls)
    settled_box, settled, rounds = settle(image, points)
    calls += rounds
    if not near(settled_box, box):  # the points walked off the box they were fitted in
        return Verdict(None, box, "", *measures, calls)
    settled_measures, more = _measures(image, settled_box, settled, check_box, settings)
    calls += more
    if _passes(settled_measures, settings):
        return Verdict(settled, settled_box, RESCUE_SETTLED, *settled_measures, calls)
    return Verdict(None, box, "", *measures, calls)


def settle(image: np.ndarray, points: np.ndarray, rounds: int = SETTLE_ROUNDS) -> tuple[Box, np.ndarray, int]:
    """Predict again in the box the points imply (``box_from_points``) until the points
    move less than ``SETTLED`` inter-ocular distances on average, at most ``rounds`` times:
    (the last box, its points [68, 2] float32, predictions made)."""
    points = np.asarray(points, np.float32)
    box = box_from_points(points)
    for made in range(1, rounds + 1):
        box = box_from_points(points)
        moved = predict_points(image, rounded(box))
        iod = inter_ocular(points)
        step = float(np.linalg.norm(moved - points, axis=1).mean() / iod) if iod else float("inf")
        points = moved
        if step < SETTLED:
            return box, points, made
    return box, points, rounds


def near(box: Box, other: Box) -> bool:
    """Whether two boxes have centres within ``NEAR_SHIFT`` of the larger side and sides
    within a factor ``NEAR_SCALE``."""
    sides = [max(b[2] - b[0], b[3] - b[1]) for b in (box, other)]
    shift = np.hypot((box[0] + box[2] - other[0] - other[2]) / 2, (box[1] + box[3] - other[1] - other[3]) / 2)
    return bool(min(sides) > 0 and max(sides) / min(sides) <= NEAR_SCALE and shift <= NEAR_SHIFT * max(sides))


def _measures(image: np.ndarray, box: Box, points: np.ndarray, check_box: bool, settings: FaceSettings) -> tuple[tuple, int]:
    """(shape residual, refit shift, box follow, face score, seen by) and the predictor runs
    they took; the box measures NaN when not ``check_box`` or when no box threshold is set,
    the face score NaN and "seen by" "-" when not ``check_box`` or ``face_seen`` is off."""
    residual = shape_residual(points)
    shift, follow, calls = float("nan"), float("nan"), 0
    if check_box and (settings.max_refit_shift or settings.max_box_follow):
        (shift, follow), calls = box_checks(image, box, points), BOX_CHECK_CALLS
    score, seen = float("nan"), "-"
    if check_box and settings.face_seen:
        score, seen = face_seen(image, points, settings.min_face_score, cnn="cnn" in settings.detection_steps())
    return (residual, shift, follow, score, seen), calls


def _passes(measures: tuple, settings: FaceSettings) -> bool:
    """Whether no measure exceeds its threshold (a 0 threshold: no check; NaN: not measured)
    and, when looked for, a detector saw the face."""
    limits = (settings.max_shape_residual, settings.max_refit_shift, settings.max_box_follow)
    return measures[4] != "" and not any(limit and value > limit for value, limit in zip(measures[:3], limits, strict=True))


def rounded(box: Box) -> tuple[int, int, int, int]:
    """``box`` to whole pixels (halves up), as dlib's rectangle wants it."""
    return tuple(int(np.floor(v + 0.5)) for v in box)
