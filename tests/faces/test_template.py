import csv

import numpy as np

from faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, add_extra_points, template_points, template_triangles


def test_template_68_points_equal_the_studys_within_one_pixel(reference_dir):
    rows = list(csv.DictReader(open(reference_dir / "template_68_points.csv")))
    expected = np.array([(float(r["x"]), float(r["y"])) for r in rows])
    assert np.abs(template_points()[:68] - expected).max() <= 1.0


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
