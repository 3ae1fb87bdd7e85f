import numpy as np
from skimage import data

from ferlens.faces.landmarks import detect_landmarks, predictor_path


def test_predictor_file_is_found_without_importing_the_package():
    assert predictor_path().name == "shape_predictor_68_face_landmarks.dat" and predictor_path().stat().st_size > 90_000_000


def test_astronaut_one_face_68_points_inside_its_box():
    result = detect_landmarks(data.astronaut())
    assert result.found and result.points.shape == (68, 2)
    left, top, right, bottom = result.box
    assert 150 < left < right < 300 and 50 < top < bottom < 200  # her face, not the flag patch
    margin = 0.15 * (right - left)
    assert (result.points[:, 0] > left - margin).all() and (result.points[:, 0] < right + margin).all()
    assert (result.points[:, 1] > top - margin).all() and (result.points[:, 1] < bottom + margin).all()
    assert result.points[36:42, 0].mean() < result.points[42:48, 0].mean()  # image-left eye first
    assert result.points[27:31, 1].mean() < result.points[48:68, 1].mean()  # nose above mouth


def test_blank_image_is_no_face_not_an_exception():
    result = detect_landmarks(np.zeros((200, 200, 3), np.uint8))
    assert not result.found and result.points is None and result.reason == "no face found"


def test_gray_rgba_and_16_bit_inputs_work():
    rgb = data.astronaut()
    reference = detect_landmarks(rgb).points
    gray = (rgb.astype(float) @ [0.299, 0.587, 0.114]).astype(np.uint8)
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    sixteen = rgb.astype(np.uint16) * 257
    for image in (gray, rgba, sixteen):
        result = detect_landmarks(image)
        assert result.found and np.abs(result.points - reference).mean() < 3


def test_whole_image_mode_uses_the_image_as_the_face_box():
    face = data.astronaut()[60:190, 160:285]
    whole = detect_landmarks(face, whole_image=True)
    assert whole.box == (0, 0, face.shape[1], face.shape[0]) and whole.found
