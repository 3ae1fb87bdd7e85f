"""dlib face detection (the HOG frontal-face detector and the CNN / MMOD detector) and the
68-point landmark predictor (the model files shipped by the PyPI package
``face-recognition-models``, found without importing it: its ``__init__`` needs
``pkg_resources``)."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import dlib
import numpy as np

from ferlens.user_errors import UserError

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
MMOD_FILE = "mmod_human_face_detector.dat"


@dataclass(frozen=True)
class FaceLandmarks:
    """One detection: ``box`` (left, top, right, bottom) in image pixels and ``points``
    [68, 2] float32 (x, y) in image pixels; both None when no face was found, with
    ``reason`` saying why."""

    box: tuple[int, int, int, int] | None
    points: np.ndarray | None
    reason: str = ""

    @property
    def found(self) -> bool:
        return self.points is not None


def _model_path(file: str, what: str) -> Path:
    """Path of one model file inside the ``face-recognition-models`` package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("The package face-recognition-models is not installed: pip install face-recognition-models.")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / file
    if not path.is_file():
        raise UserError(f"dlib's {what} is missing at '{path}': reinstall face-recognition-models.")
    return path


def predictor_path() -> Path:
    """Path of dlib's 68-point predictor inside the ``face-recognition-models`` package."""
    return _model_path(PREDICTOR_FILE, "landmark model")


def mmod_path() -> Path:
    """Path of dlib's CNN (MMOD) face detector inside the ``face-recognition-models`` package."""
    return _model_path(MMOD_FILE, "CNN face detector")


_per_thread = threading.local()  # dlib's detector and predictor are not thread-safe: one each per thread


def landmark_predictor() -> dlib.shape_predictor:
    """This thread's dlib 68-point predictor (loaded on first use, ~1 s)."""
    if not hasattr(_per_thread, "predictor"):
        _per_thread.predictor = dlib.shape_predictor(str(predictor_path()))
    return _per_thread.predictor


def face_detector() -> dlib.fhog_object_detector:
    """This thread's dlib HOG frontal-face detector (built on first use)."""
    if not hasattr(_per_thread, "detector"):
        _per_thread.detector = dlib.get_frontal_face_detector()
    return _per_thread.detector


def cnn_face_detector() -> dlib.cnn_face_detection_model_v1:
    """This thread's dlib CNN (MMOD) face detector (loaded on first use). Run it through
    ``run_cnn``, which records that it ran."""
    if not hasattr(_per_thread, "cnn"):
        _per_thread.cnn = dlib.cnn_face_detection_model_v1(str(mmod_path()))
    return _per_thread.cnn


_cnn_ran = False  # dlib's CNN starts a process-wide thread pool on its first run


def run_cnn(image: np.ndarray) -> list[dlib.mmod_rectangle]:
    """The CNN's detections in uint8 [H, W, 3] ``image`` (no upsampling; on the CPU ~4 ms per
    10,000 pixels, one core)."""
    global _cnn_ran
    _cnn_ran = True
    return list(cnn_face_detector()(image, 0))


def cnn_has_run() -> bool:
    """Whether this process ran dlib's CNN: a process forked after that hangs in its first
    CNN run (the thread pool does not survive the fork), so workers must be spawned."""
    return _cnn_ran


def to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """Gray, RGB or RGBA, uint8 or 16-bit (or float in [0, 1]) -> contiguous uint8 [H, W, 3]."""
    image = np.asarray(image)
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image * (255.0 if image.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def predict_points(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The 68 predictor points [68, 2] float32 of the face in ``box`` (left, top, right, bottom)."""
    shape = landmark_predictor()(to_uint8_rgb(image), dlib.rectangle(*(int(v) for v in box)))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def detect_landmarks(image: np.ndarray, whole_image: bool = False, upsample: int = 1) -> FaceLandmarks:
    """Landmarks of the largest frontal face in ``image`` (gray/RGB/RGBA, 8 or 16 bit).

    ``whole_image=True`` skips detection and treats the whole image as the face box (the
    study ran the predictor on pre-cropped faces). ``upsample`` is dlib's detector
    upsampling (finds smaller faces, slower)."""
    rgb = to_uint8_rgb(image)
    height, width = rgb.shape[:2]
    if whole_image:
        box = (0, 0, width, height)
    else:
        faces = face_detector()(rgb, upsample)
        if len(faces) == 0:
            return FaceLandmarks(None, None, "no face found")
        largest = max(faces, key=lambda r: r.width() * r.height())
        box = (largest.left(), largest.top(), largest.right(), largest.bottom())
    return FaceLandmarks(box, predict_points(rgb, box))
