"""Known truth for expression-fair face preparation: full-intensity faces of every class and
neutral, degraded and cropped tight at 48-224 px (``datamodules.face_calibration``)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ferlens.datamodules.face_calibration import DEGRADATIONS, SIZES, WRONG, calibrate, degrade, write_calibration_set
from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.prepare import eye_angle
from ferlens.formats.expressions import CLASSES_7
from ferlens.formats.images import read_image


def test_degradations_move_the_true_points_with_the_face():
    sample = SyntheticFaces(num_images=1, image_size=224, neutral=True, intensity_range=(1.0, 1.0), prototypes="full")[0]
    rng = np.random.default_rng(0)
    for kind, target in (("roll +20", 20.0), ("roll -20", -20.0)):
        image, points = degrade(sample.image, sample.landmarks, kind, rng)
        assert eye_angle(points) == pytest.approx(target, abs=1e-6) and image.shape == sample.image.shape
    bowed, points = degrade(sample.image, sample.landmarks, "bowed head", rng)
    height = np.ptp(sample.landmarks[:, 1])
    assert np.ptp(points[:, 1]) == pytest.approx(0.8 * height, rel=1e-3)  # foreshortened to 80 %
    covered, points = degrade(sample.image, sample.landmarks, "mouth occluded", rng)
    assert np.array_equal(points, sample.landmarks.astype(np.float64))  # the points stay under the occluder
    changed = np.abs(covered.astype(int) - sample.image.astype(int)).sum(axis=2) > 0
    corners = [tuple(np.round(sample.landmarks[i]).astype(int)) for i in (48, 54)]
    assert any(changed[y, x] for x, y in corners) and changed.mean() < 0.05


def test_the_full_prototypes_close_the_eyes_and_leave_the_default_set_alone():
    full = SyntheticFaces(num_images=7, num_subjects=1, image_size=64, neutral=True, intensity_range=(1.0, 1.0), prototypes="full")
    disgust, neutral = full[1].landmarks, full[6].landmarks
    opening = lambda points: float(np.mean(points[[41, 40, 47, 46], 1] - points[[37, 38, 43, 44], 1]))  # noqa: E731
    assert opening(disgust) < 0.15 * opening(neutral)  # eyes shut (AU43)
    default = SyntheticFaces(num_images=3)
    assert default.prototype_set == "facs" and [default[i].label for i in range(3)] == [0, 0, 0]


def test_the_set_covers_every_class_size_degradation_and_encoding(tmp_path):
    index, written = write_calibration_set(tmp_path, per_class=2)
    assert len(written) == 2 * 7 * len(SIZES) and index.class_counts() == dict.fromkeys(CLASSES_7, 2 * len(SIZES))
    assert Counter(image.size for image in written.values()) == dict.fromkeys(SIZES, 14)
    assert set(image.degradation for image in written.values()) == set(DEGRADATIONS)
    assert {(image.gray, image.jpeg) for image in written.values()} == {(False, False), (True, True), (False, True), (True, False)}
    entry = index.entries[0]
    image = written[entry.key]
    pixels = read_image(entry.path)
    assert pixels.shape[:2] == (image.size, image.size) and image.truth.shape == (68, 2)


@pytest.mark.slow
def test_every_expression_survives_face_preparation_at_the_default_settings(tmp_path):
    """Issue 32's acceptance, 16 faces per class (64 images each): every class >= 97 %
    prepared, classes at most 3 points apart, no prepared face with wrong points. Measured:
    every class 100 %, mean error 0.042 (Anger, Neutral) to 0.085 (Happiness) inter-ocular
    distances."""
    result, prepared = calibrate(tmp_path, per_class=16)
    classes = [name for name in result.prepared if name != "all"]
    assert min(result.prepared[name] for name in classes) >= 0.97, result.prepared
    assert result.largest_gap <= 3, result.prepared
    assert result.wrong["all"] == 0 and result.error["all"] < 0.08, (result.error, WRONG)
    assert "taken for tight crops" in prepared.summary  # the set is recognised from its own box/image ratios
