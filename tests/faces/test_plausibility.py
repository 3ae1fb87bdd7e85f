import cv2
import numpy as np
import pytest

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.detection import DetectionView
from ferlens.faces.landmarks import face_detector, predict_points
from ferlens.faces.plausibility import box_checks, box_follow, box_from_points, face_seen, follow_boxes, inter_ocular, shape_residual
from ferlens.faces.prepare import FaceSettings
from ferlens.faces.template import TEMPLATE_LANDMARKS

DEFAULTS = FaceSettings("dlib", "dlib")
#: The stability thresholds of before issue 32 (off by default since: they refused strong expressions).
STABILITY = (0.3, 0.15, 0.75)


def test_shape_residual_ignores_pose_and_size_and_grows_with_distortion():
    assert shape_residual(TEMPLATE_LANDMARKS) == pytest.approx(0, abs=1e-9)
    angle = np.deg2rad(25)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = 0.3 * TEMPLATE_LANDMARKS @ rotation.T + [500, -40]
    assert shape_residual(moved) == pytest.approx(0, abs=1e-9)  # shift, scale and rotation are aligned away
    mirrored = TEMPLATE_LANDMARKS * [-1, 1]  # the same points read as a mirror image: the left eye where the right one is
    assert shape_residual(mirrored) > 0.15
    noisy = TEMPLATE_LANDMARKS + np.random.default_rng(0).normal(0, 0.1 * inter_ocular(TEMPLATE_LANDMARKS), (68, 2))
    assert 0.1 < shape_residual(noisy) < 0.2  # 0.1 inter-ocular distances of noise per coordinate: ~0.14 RMS
    collapsed = TEMPLATE_LANDMARKS.copy()
    collapsed[:17] = collapsed[:17].mean(axis=0)  # the whole jaw on one point
    assert shape_residual(collapsed) > DEFAULTS.max_shape_residual
    assert shape_residual(np.ones((68, 2))) == float("inf")


def test_box_from_points_is_the_square_the_detector_draws_above_the_points():
    points = np.array([[10.0, 20.0], [110.0, 140.0]] + [[60.0, 80.0]] * 66)
    left, top, right, bottom = box_from_points(points)
    assert right - left == pytest.approx(120) and bottom - top == pytest.approx(120)  # the points' longer side
    assert (left + right) / 2 == pytest.approx(60) and (top + bottom) / 2 == pytest.approx(80 - 0.11 * 120)


def test_box_follow_is_0_for_points_that_stay_and_1_for_points_that_move_with_the_box():
    box = (100.0, 100.0, 200.0, 200.0)
    points = np.random.default_rng(1).uniform(100, 200, (68, 2))
    shifted = follow_boxes(box)
    assert [tuple(np.subtract(moved, box)) for moved in shifted] == [(10, 0, 10, 0), (-10, 0, -10, 0), (0, 10, 0, 10), (0, -10, 0, -10)]
    assert box_follow(points, box, [points] * 4) == 0
    assert box_follow(points, box, [points + np.subtract(moved, box)[:2] for moved in shifted]) == pytest.approx(1)
    assert box_follow(points, box, [points + 0.5 * np.subtract(moved, box)[:2] for moved in shifted]) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def fits() -> dict[str, list[tuple[float, float, float, str, float]]]:
    """(shape residual, refit shift, box follow, the detector that saw a face where the points
    are, the mean error against the true points in inter-ocular distances) of dlib's points on 12 synthetic faces, in the detector's box and in deliberately
    wrong boxes, in the default detection view."""
    faces = SyntheticFaces(num_images=12, num_subjects=12, image_size=224, seed=3)
    rng = np.random.default_rng(0)
    measured: dict[str, list[tuple[float, float, float, str, float]]] = {}
    for index in range(len(faces)):
        view = DetectionView.of(faces[index].image, DEFAULTS.pad, DEFAULTS.pad_mode, DEFAULTS.min_side)
        found = max(face_detector()(view.image, 0), key=lambda r: r.area())
        box = (found.left(), found.top(), found.right(), found.bottom())
        side, (cx, cy) = box[2] - box[0], ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        angle = rng.uniform(0, 2 * np.pi)
        dx, dy = 0.5 * side * np.cos(angle), 0.5 * side * np.sin(angle)
        boxes = {
            "good": box,
            "moved by half its side": (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy),
            "twice as large": (cx - side, cy - side, cx + side, cy + side),
            "half as large": (cx - side / 4, cy - side / 4, cx + side / 4, cy + side / 4),
            "on the background": (0, 0, view.image.shape[0] / 4, view.image.shape[0] / 4),
        }
        for kind, chosen in boxes.items():
            points = predict_points(view.image, tuple(round(v) for v in chosen))
            seen = face_seen(view.image, points, DEFAULTS.min_face_score, cnn=True)[1]
            truth = faces[index].landmarks
            error = float(np.linalg.norm(view.to_source(points) - truth, axis=1).mean() / inter_ocular(truth))
            measured.setdefault(kind, []).append((shape_residual(points), *box_checks(view.image, chosen, points), seen, error))
    return measured


def _flagged(values: list[tuple]) -> float:
    """Share flagged by the stability thresholds of before (``STABILITY``)."""
    return float((np.array([value[:3] for value in values]) > np.array(STABILITY)).any(axis=1).mean())


def test_no_detector_sees_a_face_where_wrong_points_put_it(fits):
    """The default check: every good fit is seen by HOG where its points are; of the fits in
    wrong boxes at most 5 % are seen with wrong points (error above a quarter of the
    inter-ocular distance; on full-intensity faces 1 of 168: python -m
    datamodules.face_calibration)."""
    assert [fit[3] for fit in fits["good"]] == ["hog"] * 12 and max(fit[4] for fit in fits["good"]) < 0.1
    wrong = [fit for kind in ("moved by half its side", "twice as large", "half as large", "on the background") for fit in fits[kind]]
    accepted_wrong = [fit for fit in wrong if fit[3] and fit[4] > 0.25]
    assert len(accepted_wrong) <= 0.05 * len(wrong), accepted_wrong  # measured: 1 of 48 (twice as large, error 0.34, HOG score -0.596)
    assert sum(fit[3] == "" for fit in fits["on the background"]) == 12


def test_the_stability_measures_of_before_flag_most_points_in_wrong_boxes(fits):
    """The refit shift and box follow, off by default since issue 32 (they refused eyes-shut,
    nose-wrinkled faces), still measured on request: both sides of their old thresholds."""
    assert _flagged(fits["good"]) == 0
    for kind in ("moved by half its side", "twice as large", "half as large", "on the background"):
        assert _flagged(fits[kind]) >= 0.75, (kind, fits[kind])
    good = np.array([fit[:3] for fit in fits["good"]])
    assert good[:, 0].max() < 0.1 and good[:, 1].max() < 0.1 and good[:, 2].max() < 0.65  # far from the thresholds (0.3, 0.15, 0.75)


@pytest.mark.parametrize("angle", [-20, 20])
def test_a_blurred_or_rolled_face_is_seen_where_its_points_are(angle):
    sample = SyntheticFaces(num_images=1, image_size=224, seed=4)[0]
    blurred = cv2.GaussianBlur(sample.image, (0, 0), 2.0)
    rotation = cv2.getRotationMatrix2D((111.5, 111.5), angle, 1.0)
    rolled = cv2.warpAffine(sample.image, rotation, (224, 224), borderMode=cv2.BORDER_REPLICATE)
    for image, truth in ((blurred, sample.landmarks), (rolled, sample.landmarks @ rotation[:, :2].T + rotation[:, 2])):
        score, seen = face_seen(image, truth, DEFAULTS.min_face_score, cnn=False)
        assert seen == "hog" and score > DEFAULTS.min_face_score, (angle, score)
    view = DetectionView.of(blurred, DEFAULTS.pad, DEFAULTS.pad_mode, DEFAULTS.min_side)
    found = max(face_detector()(view.image, 1), key=lambda r: r.area())
    box = (found.left(), found.top(), found.right(), found.bottom())
    points = predict_points(view.image, box)
    shift, follow = box_checks(view.image, box, points)
    assert shape_residual(points) < DEFAULTS.max_shape_residual and shift < STABILITY[1] and follow < STABILITY[2]
