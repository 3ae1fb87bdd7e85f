import numpy as np
import pytest

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.detection import DetectionView, detect


def test_view_pads_every_side_resizes_up_and_maps_points_both_ways():
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :30] = (200, 10, 10)
    image[:, 30:] = (10, 10, 200)
    view = DetectionView.of(image, pad=0.25, pad_mode="edge", min_side=200)
    assert view.pad == 15 and view.source_size == (60, 40)  # a quarter of the longer side, on every side
    assert view.image.shape[0] == 200 and view.scale == pytest.approx((view.image.shape[1] / 90, 200 / 70))  # 70 px high padded, resized up to 200
    points = np.array([[0.0, 0.0], [59.0, 39.0], [-10.0, 44.0]])
    assert np.allclose(view.to_source(view.to_view(points)), points)
    # pixel centres scale about the padded image's corner edge: source (0, 0) is padded (15, 15)
    assert np.allclose(view.to_view([[0.0, 0.0]]), (np.array([15.5, 15.5]) * view.scale) - 0.5)
    left, top, right, bottom = view.box_to_source(view.box_to_view((1.0, 2.0, 30.0, 20.0)))
    assert (left, top, right, bottom) == pytest.approx((1.0, 2.0, 30.0, 20.0))
    large = DetectionView.of(np.zeros((300, 400, 3), np.uint8), pad=0.0, pad_mode="edge", min_side=200)
    assert large.pad == 0 and large.scale == (1.0, 1.0) and large.image.shape == (300, 400, 3)  # never shrunk


# 30 columns of border: edge repeats the red first column, reflect mirrors the image about it (the blue half comes back), constant is the mean
@pytest.mark.parametrize(("mode", "left_column"), [("edge", (200, 10, 10)), ("reflect", (10, 10, 200)), ("constant", (105, 10, 105))])
def test_pad_modes(mode, left_column):
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :30] = (200, 10, 10)
    image[:, 30:] = (10, 10, 200)
    view = DetectionView.of(image, pad=0.5, pad_mode=mode, min_side=0)
    assert view.image.shape == (100, 120, 3) and tuple(view.image[50, 0]) == left_column and tuple(view.image[50, 30]) == (200, 10, 10)


def test_the_cascade_stops_at_the_first_step_that_finds_a_face():
    face = SyntheticFaces(num_images=1, image_size=224)[0].image
    view = DetectionView.of(face, pad=0.25, pad_mode="edge", min_side=200)
    found = detect(view, ("hog", "hog_upsampled", "cnn"), upsample=0, cnn_side=200)
    assert found.step == "hog" and found.calls == {"hog": 1} and found.face_count == 1
    blank = DetectionView.of(np.full((80, 80, 3), 120, np.uint8), pad=0.25, pad_mode="edge", min_side=200)
    missed = detect(blank, ("hog", "hog_upsampled", "cnn"), upsample=0, cnn_side=200)
    assert missed.box is None and missed.step == "" and missed.calls == {"hog": 1, "hog_upsampled": 1, "cnn": 1}
    by_cnn = detect(view, ("cnn",), upsample=0, cnn_side=200)
    assert by_cnn.step == "cnn" and by_cnn.box is not None
    left, top, right, bottom = view.box_to_source(by_cnn.box)
    assert 20 < left < right < 200 and 20 < top < bottom < 210 and right - left > 80  # on the face, in source pixels


def test_the_cnn_runs_at_cnn_side():
    """The CNN finds faces from ~70 px: the 224-px face (~120 px) shrunk with its padded view
    to 60 px is lost, at 200 px it is found."""
    face = SyntheticFaces(num_images=1, image_size=224)[0].image
    view = DetectionView.of(face, pad=0.25, pad_mode="edge", min_side=200)
    assert detect(view, ("cnn",), upsample=0, cnn_side=60).box is None
    assert detect(view, ("cnn",), upsample=0, cnn_side=200).box is not None
