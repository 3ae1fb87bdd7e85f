import csv
import subprocess
import sys

import numpy as np

from ferlens.faces.landmarks import predict_points
from ferlens.faces.template import (
    TEMPLATE_FACE_BOX,
    TEMPLATE_HEIGHT,
    TEMPLATE_LANDMARKS,
    TEMPLATE_WIDTH,
    add_extra_points,
    template_points,
    template_sha256,
    template_triangles,
)
from tests.conftest import ROOT


def test_shipped_template_points_equal_the_studys_csv(reference_dir):
    rows = list(csv.DictReader(open(reference_dir / "template_68_points.csv")))
    expected = np.array([(float(r["x"]), float(r["y"])) for r in rows])
    np.testing.assert_array_equal(TEMPLATE_LANDMARKS, expected)
    np.testing.assert_array_equal(template_points()[:68], expected)


def test_shipped_template_points_equal_dlibs_computation():
    black = np.zeros((TEMPLATE_HEIGHT, TEMPLATE_WIDTH, 3), np.uint8)
    np.testing.assert_array_equal(predict_points(black, TEMPLATE_FACE_BOX), TEMPLATE_LANDMARKS)


def test_template_hash_is_stable_and_points_read_only():
    assert template_sha256() == "690978543eaf4936cbbe1020dc1c806fdf1ca385a78c8851d0abb1e83c977e19"
    assert not template_points().flags.writeable


def test_warping_and_analysis_do_not_import_dlib():
    modules = "ferlens.analyze, ferlens.faces.warp, ferlens.faces.ekman_masks, ferlens.faces.au, ferlens.formats.template_figure"
    code = f"import sys, {modules}; print('dlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_extra_points_rule_for_any_size():
    landmarks = np.arange(136, dtype=float).reshape(68, 2)
    points = add_extra_points(landmarks, 300, 400)
    assert points.shape == (89, 2)
    np.testing.assert_array_equal(points[68:85, 0], landmarks[:17, 0])
    assert (points[68:85, 1] == 0).all()
    np.testing.assert_array_equal(points[85:], [[0, 0], [0, 400], [300, 0], [300, 400]])
    assert add_extra_points(np.stack([landmarks, landmarks]), 300, 400).shape == (2, 89, 2)


def test_triangulation_covers_the_template_with_valid_triangles():
    points, triangles = template_points(), template_triangles()
    assert triangles.min() == 0 and triangles.max() == 88
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    areas = 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))
    assert (areas > 0).all()
    assert areas.sum() == np.float64(TEMPLATE_WIDTH * TEMPLATE_HEIGHT)
