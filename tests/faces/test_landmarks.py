import numpy as np
from skimage import data

from faces.landmarks import align_face, detect_landmarks, detect_landmarks_in_files, predictor_path


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


def test_whole_image_mode_and_files_in_parallel(tmp_path):
    import cv2

    face = data.astronaut()[60:190, 160:285]
    cv2.imwrite(str(tmp_path / "face.png"), cv2.cvtColor(np.ascontiguousarray(face), cv2.COLOR_RGB2BGR))
    (tmp_path / "broken.png").write_bytes(b"nope")
    cv2.imwrite(str(tmp_path / "blank.png"), np.zeros((80, 80, 3), np.uint8))
    whole = detect_landmarks(face, whole_image=True)
    assert whole.box == (0, 0, face.shape[1], face.shape[0]) and whole.found
    results = detect_landmarks_in_files([tmp_path / "face.png", tmp_path / "broken.png", tmp_path / "blank.png"])
    assert [r.found for r in results] == [True, False, False]
    assert [r.reason for r in results[1:]] == ["unreadable image file", "no face found"]


def test_align_face_levels_the_eyes_and_returns_landmarks_in_the_crop():
    import cv2

    image = data.astronaut()
    rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D((220, 120), 12, 1.0), (512, 512))
    points = detect_landmarks(rotated).points
    crop, moved = align_face(rotated, points, size=160, margin=0.2)
    assert crop.shape == (160, 160, 3)
    eyes = moved[36:42].mean(axis=0), moved[42:48].mean(axis=0)
    assert abs(eyes[0][1] - eyes[1][1]) < 1.0
    assert (moved > 0).all() and (moved < 160).all()
    redetected = detect_landmarks(crop, whole_image=False)
    assert redetected.found and np.abs(redetected.points - moved).mean() < 6
