"""Known truth for expression-fair face preparation: synthetic faces at full intensity of every
expression (``SyntheticFaces(prototypes="full")``: brows lowered, eyes squeezed shut, nose
wrinkled, lip corners pulled down, jaw dropped) and neutral, degraded the way real photos
are (``DEGRADATIONS``: roll of +-20 degrees, a bowed head in 2-D, blur, a skin-coloured
occluder over a mouth corner), cropped tight at 48, 64, 100 and 224 px and written as PNG or
JPEG q30, in colour or gray, in the folder layout, then prepared at the default settings
and measured against the exact landmarks.

Per class (and per class and size) it gives the share prepared, the mean landmark error in
true inter-ocular distances (points 36 and 45: the 300-W normalisation) and why images were
lost (status x class); per rescue how many faces it saved. Negatives: points predicted in
deliberately wrong boxes, then judged by the landmark check with its rescues, must be
refused or rescued onto the face (``wrong_box_study``).

    python -m datamodules.face_calibration [--per-class 16] [--workers 1]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

import ferlens.datamodules.readers  # noqa: F401  (registers the readers)
from ferlens.datamodules.face_prep import PreparedFaceSet, prepare_faces, resolve_settings
from ferlens.datamodules.face_truth import tight_crop
from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.readers.base import DatasetIndex
from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.detection import DetectionView
from ferlens.faces.landmarks import face_detector, predict_points
from ferlens.faces.plausibility import inter_ocular
from ferlens.faces.prepare import STATUSES, USABLE, FaceSettings, eye_angle, judge_fit
from ferlens.formats.expressions import CLASSES_7

SIZES = (48, 64, 100, 224)
DEGRADATIONS = ("none", "roll +20", "roll -20", "bowed head", "blur", "mouth occluded")
#: (gray, JPEG q30) of a written image, in turn.
ENCODINGS = ((False, False), (True, True), (False, True), (True, False))
#: Mean landmark error (true inter-ocular distances) above which points count as wrong.
WRONG = 0.25


def degrade(image: np.ndarray, points: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [H, W, 3] ``image`` and its [68, 2] ``points`` under one of ``DEGRADATIONS``:
    "roll +-20" turns the face until its eyes are 20 degrees from level; "bowed head"
    foreshortens it vertically (a perspective squeeze, chin narrower); "blur" a Gaussian of
    1.2 % of the image side; "mouth occluded" covers one mouth corner with a skin-coloured
    ellipse (a hand; the true points stay where they are under it)."""
    points = np.asarray(points, np.float64)
    height, width = image.shape[:2]
    centre = points.mean(axis=0)
    if kind.startswith("roll"):
        target = 20.0 if kind.endswith("+20") else -20.0
        affine = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), eye_angle(points) - target, 1.0)
        warped = cv2.warpAffine(image, affine, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return warped, points @ affine[:, :2].T + affine[:, 2]
    if kind == "bowed head":
        low, high = points.min(axis=0), points.max(axis=0)
        top, bottom = low[1], high[1]
        new_top, new_bottom = top + 0.1 * (bottom - top), top + 0.9 * (bottom - top)  # 80 % of its height
        narrow = 0.08 * (high[0] - low[0])  # the chin further away than the brow
        source = np.float32([[low[0], top], [high[0], top], [high[0], bottom], [low[0], bottom]])
        target = np.float32([[low[0], new_top], [high[0], new_top], [high[0] - narrow, new_bottom], [low[0] + narrow, new_bottom]])
        homography = cv2.getPerspectiveTransform(source, target)
        warped = cv2.warpPerspective(image, homography, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return warped, cv2.perspectiveTransform(points[None].astype(np.float64), homography)[0]
    if kind == "blur":
        return cv2.GaussianBlur(image, (0, 0), 0.012 * max(height, width)), points
    if kind == "mouth occluded":
        corner = points[48] if rng.random() < 0.5 else points[54]
        mouth = float(np.linalg.norm(points[54] - points[48]))
        skin = np.median(image[int(points[29, 1]) - 2 : int(points[29, 1]) + 3, int(points[29, 0]) - 2 : int(points[29, 0]) + 3].reshape(-1, 3), axis=0)
        occluded = image.copy()
        axes = (int(round(0.45 * mouth)), int(round(0.3 * mouth)))
        colour = tuple(float(v) * 0.92 for v in skin)
        cv2.ellipse(occluded, (int(round(corner[0])), int(round(corner[1]))), axes, float(rng.uniform(-30, 30)), 0, 360, colour, -1, cv2.LINE_AA)
        return occluded, points
    if kind == "none":
        return image, points
    raise ValueError(f"unknown degradation {kind!r}")


@dataclass(frozen=True)
class CalibrationImage:
    """One written image: its reader key, class, size, degradation, encoding and true points."""

    key: str
    label: int
    size: int
    degradation: str
    gray: bool
    jpeg: bool
    truth: np.ndarray


def _full_faces(per_class: int, seed: int) -> SyntheticFaces:
    """``per_class`` faces of each of the seven classes at full intensity, 224 px with margin."""
    count = per_class * len(CLASSES_7)
    return SyntheticFaces(count, num_subjects=per_class, image_size=224, neutral=True, seed=seed, intensity_range=(1.0, 1.0), prototypes="full")


def write_calibration_set(root: Path, per_class: int, seed: int = 0) -> tuple[DatasetIndex, dict[str, CalibrationImage]]:
    """``per_class`` faces of each of the seven classes at full intensity, each degraded by
    ``DEGRADATIONS`` in turn and written at every one of ``SIZES`` (encodings in turn) under
    ``root/<Class>/``; the folder reader's index and the images by key."""
    faces = _full_faces(per_class, seed)
    written: dict[str, CalibrationImage] = {}
    for index in range(len(faces)):
        sample = faces[index]
        kind = DEGRADATIONS[index % len(DEGRADATIONS)]
        image, points = degrade(sample.image, sample.landmarks, kind, np.random.default_rng([seed, index]))
        for number, size in enumerate(SIZES):
            gray, jpeg = ENCODINGS[(index + number) % len(ENCODINGS)]
            crop, truth = tight_crop(image, points.astype(np.float32), size)
            key = f"{faces.class_names[sample.label]}/{sample.subject}_{index:04d}_{size}.{'jpg' if jpeg else 'png'}"
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            pixels = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if gray else cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(root / key), pixels, [cv2.IMWRITE_JPEG_QUALITY, 30] if jpeg else [])
            written[key] = CalibrationImage(key, int(sample.label), size, kind, gray, jpeg, truth)
    return read_dataset("folder", root, CLASSES_7), written


@dataclass(frozen=True)
class Calibration:
    """The figures of one calibration run. Per class (and "all"): ``prepared`` share,
    ``error`` mean landmark error of the prepared faces (true inter-ocular distances) and
    ``wrong`` share of prepared faces whose error exceeds ``WRONG``; ``by_size`` the same two
    per (class, size); ``statuses`` per class the images per status; ``rescues`` per rescue
    the faces it saved; ``tight`` the set-level decision; ``images`` per class."""

    images: dict[str, int]
    prepared: dict[str, float]
    error: dict[str, float]
    wrong: dict[str, float]
    by_size: dict[tuple[str, int], tuple[float, float]]
    statuses: dict[str, Counter]
    rescues: Counter
    steps: Counter
    decision: str

    @property
    def largest_gap(self) -> float:
        """Largest difference of two classes' prepared shares (points: fraction x 100)."""
        shares = [value for name, value in self.prepared.items() if name != "all"]
        return 100 * (max(shares) - min(shares))


def calibrate(folder: Path, per_class: int = 16, workers: int = 1, **face: object) -> tuple[Calibration, PreparedFaceSet]:
    """Write the calibration set under ``folder``, prepare it with ``face`` settings (the
    defaults of ``configs/face`` and the folder reader's default detector) and measure it."""
    index, written = write_calibration_set(folder / "images", per_class)
    prepared = prepare_faces(index, resolve_settings(index, **face), cache_dir=folder / "cache", workers=workers, progress=False)
    names = index.class_names
    rows = []
    for position, entry in enumerate(index.entries):
        image = written[entry.key]
        error = float("nan")
        if prepared.statuses[position] in USABLE:
            error = float(np.linalg.norm(prepared.source_points(position) - image.truth, axis=1).mean() / inter_ocular(image.truth))
        rows.append((names[image.label], image.size, prepared.statuses[position], error, prepared.details[position]))
    groups = {name: [row for row in rows if row[0] == name] for name in names} | {"all": rows}

    def figures(selected: list) -> tuple[float, float, float]:
        errors = np.array([row[3] for row in selected if row[2] in USABLE])
        share = len(errors) / len(selected) if selected else float("nan")
        return share, float(errors.mean()) if len(errors) else float("nan"), float((errors > WRONG).mean()) if len(errors) else float("nan")

    summary = {name: figures(selected) for name, selected in groups.items()}
    by_size = {(name, size): figures([row for row in groups[name] if row[1] == size])[:2] for name in names for size in SIZES}
    return (
        Calibration(
            images={name: len(selected) for name, selected in groups.items()},
            prepared={name: values[0] for name, values in summary.items()},
            error={name: values[1] for name, values in summary.items()},
            wrong={name: values[2] for name, values in summary.items()},
            by_size=by_size,
            statuses={name: Counter(row[2] for row in groups[name]) for name in names},
            rescues=Counter(row[4].get("rescue", "") or "none" for row in rows if row[2] in USABLE),
            steps=Counter(row[4]["step"] or "none" for row in rows),
            decision=prepared.summary,
        ),
        prepared,
    )


def _wrong_boxes(box: tuple[float, float, float, float], rng: np.random.Generator, view_side: float) -> dict[str, tuple[float, float, float, float]]:
    """Deliberately wrong boxes for a face whose detector box is ``box``: moved by half its side
    in a random direction, twice as large, half as large, and a background corner."""
    left, top, right, bottom = box
    side, cx, cy = right - left, (left + right) / 2, (top + bottom) / 2
    angle = rng.uniform(0, 2 * np.pi)
    dx, dy = 0.5 * side * np.cos(angle), 0.5 * side * np.sin(angle)
    corner = view_side / 4
    return {
        "moved by half its side": (left + dx, top + dy, right + dx, bottom + dy),
        "twice as large": (cx - side, cy - side, cx + side, cy + side),
        "half as large": (cx - side / 4, cy - side / 4, cx + side / 4, cy + side / 4),
        "on the background": (0.0, 0.0, corner, corner),
    }


def wrong_box_study(per_class: int = 4, seed: int = 1) -> dict[str, tuple[int, int, int]]:
    """Per kind of wrong box (``_wrong_boxes``) on full-intensity faces of every class (224 px
    with margin): (fits, refused, accepted with wrong points: error above ``WRONG``). A fit
    accepted with right points was rescued onto the face."""
    settings = FaceSettings("dlib", "dlib")
    faces = _full_faces(per_class, seed)
    rng = np.random.default_rng(seed)
    counts: dict[str, list[int]] = {}
    for index in range(len(faces)):
        sample = faces[index]
        view = DetectionView.of(sample.image, settings.pad, settings.pad_mode, settings.min_side)
        found = face_detector()(view.image, 0)
        if not found:
            continue
        largest = max(found, key=lambda r: r.area())
        box = (largest.left(), largest.top(), largest.right(), largest.bottom())
        for kind, bad in _wrong_boxes(box, rng, view.image.shape[0]).items():
            points = predict_points(view.image, tuple(round(v) for v in bad))
            verdict = judge_fit(view.image, settings, bad, points)
            tally = counts.setdefault(kind, [0, 0, 0])
            tally[0] += 1
            if verdict.points is None:
                tally[1] += 1
            else:
                error = np.linalg.norm(view.to_source(verdict.points) - sample.landmarks, axis=1).mean() / inter_ocular(sample.landmarks)
                tally[2] += int(error > WRONG)
    return {kind: tuple(values) for kind, values in counts.items()}


def _print(result: Calibration) -> None:
    names = [name for name in result.images if name != "all"]
    print(f"{'class':<11}{'images':>7}{'prepared':>10}{'error':>8}{'wrong':>7}" + "".join(f"{f'{size} px':>14}" for size in SIZES))
    for name in [*names, "all"]:
        sizes = "".join(f"{f'{result.by_size[name, size][0]:.0%} {result.by_size[name, size][1]:.3f}':>14}" for size in SIZES) if name != "all" else ""
        print(f"{name:<11}{result.images[name]:>7}{result.prepared[name]:>10.1%}{result.error[name]:>8.3f}{result.wrong[name]:>7.1%}{sizes}")
    print(f"largest gap between classes: {result.largest_gap:.1f} points; per size: prepared share and mean error (true inter-ocular distances)")
    lost = [status for status in STATUSES if status not in USABLE and any(result.statuses[name][status] for name in names)]
    for status in lost:
        print(f"lost, {status}: " + ", ".join(f"{name} {result.statuses[name][status]}" for name in names if result.statuses[name][status]))
    print(f"rescues: {dict(result.rescues)}; steps: {dict(result.steps)}")
    print(result.decision)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=16, help="faces per class (seven classes, each written at four sizes)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--negatives", type=int, default=4, help="faces per class for the wrong-box study (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        result, _ = calibrate(Path(scratch), args.per_class, args.workers)
    _print(result)
    if args.negatives:
        study = wrong_box_study(args.negatives)
        fits, refused, wrong = (sum(values[k] for values in study.values()) for k in range(3))
        print("wrong boxes (fits, refused, accepted with wrong points): " + "; ".join(f"{kind} {values}" for kind, values in study.items()))
        print(f"wrong points refused or rescued: {1 - wrong / fits:.1%} of {fits} ({refused} refused)")


if __name__ == "__main__":
    main()
