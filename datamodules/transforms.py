"""Sample transforms: resize (+ optional augmentation) that move the landmarks with the image.

Landmarks use the pixel-centre convention (pixel ``(r, c)`` is at ``x=c, y=r``);
albumentations uses pixel corners, so they are shifted by half a pixel around it.

Images leave here as raw RGB in [0, 1]: each network normalizes its own input (its
``data_config``), so explainers see raw pixels and black is 0.

Augmentation is reproducible: a transform draws from its own generators, seeded from the
run seed; in DataLoader workers ``seed_worker`` reseeds each worker's copy from the run
seed and the worker's torch seed (which differs per worker and per epoch).
"""

from __future__ import annotations

import random
from typing import Any

import albumentations as A
import numpy as np
import torch

from ferlens.datamodules.face_shape import FLIP_PERMUTATION


def to_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 gray [H, W] / [H, W, 1], RGB or RGBA -> [H, W, 3] RGB."""
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


class FaceTransform:
    """Resize to ``size``; with ``augment``, also the geometric augmentations of Study 2
    (rotation +-6 deg, random resized crop scale 0.8-1, horizontal flip with the landmark
    indices mirrored) and mild photometric ones, drawn from generators seeded by ``seed``.
    Returns image [3, S, S] float RGB in [0, 1] and landmarks [68, 2] float in the output's
    pixels (NaN stays NaN)."""

    def __init__(self, size: int, augment: bool = False, seed: int = 0) -> None:
        self.size = size
        self.augment = augment
        self.seed = seed
        steps: list[A.BasicTransform] = [A.Resize(size, size)]
        if augment:
            steps = [
                A.Resize(size, size),
                A.Affine(rotate=(-6, 6), p=1.0),
                A.RandomResizedCrop((size, size), scale=(0.8, 1.0), ratio=(0.9, 1.1), p=1.0),
                A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02, p=0.8),
            ]
        self.pipeline = A.Compose(steps, keypoint_params=A.KeypointParams(format="xy", remove_invisible=False))
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the augmentation generators (albumentations' and the flip's) from ``seed``."""
        self.pipeline.set_random_seed(seed)
        self.flip_rng = np.random.default_rng(seed)

    def _generators(self) -> list[tuple[np.random.Generator, random.Random]]:
        return [(step.random_generator, step.py_random) for step in [self.pipeline, *self.pipeline.transforms]]

    def random_state(self) -> dict[str, Any]:
        """Where the augmentation generators stand (plain dicts, tuples and ints, so that a
        checkpoint holding them loads with ``weights_only``); see ``set_random_state``."""
        return {
            "flip": self.flip_rng.bit_generator.state,
            "steps": [(numpy_rng.bit_generator.state, python_rng.getstate()) for numpy_rng, python_rng in self._generators()],
        }

    def set_random_state(self, state: dict[str, Any]) -> None:
        """Put the augmentation generators back where ``random_state`` found them."""
        self.flip_rng.bit_generator.state = state["flip"]
        for (numpy_rng, python_rng), (numpy_state, python_state) in zip(self._generators(), state["steps"], strict=True):
            numpy_rng.bit_generator.state = numpy_state
            python_rng.setstate((python_state[0], tuple(python_state[1]), python_state[2]))

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        image = to_rgb(image)
        missing = not np.isfinite(landmarks).all()
        points = np.zeros((68, 2), np.float32) if missing else landmarks.astype(np.float32) + 0.5
        out = self.pipeline(image=image, keypoints=points)
        image, points = out["image"], np.asarray(out["keypoints"], np.float32)[:, :2] - 0.5
        if self.augment and self.flip_rng.random() < 0.5:
            image = image[:, ::-1]
            points = points[FLIP_PERMUTATION]
            points[:, 0] = image.shape[1] - 1 - points[:, 0]
        if missing:
            points = np.full((68, 2), np.nan, np.float32)
        return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0, torch.from_numpy(points)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: reseed this worker's copy of the dataset's transform
    from the run seed and the worker's torch seed (PyTorch draws it from the seeded main
    process for every worker of every epoch's iterator), so workers differ from each other
    and runs with one seed repeat."""
    info = torch.utils.data.get_worker_info()
    transform = getattr(info.dataset, "transform", None)
    if isinstance(transform, FaceTransform):
        transform.reseed(int(np.random.SeedSequence([transform.seed, torch.initial_seed() % 2**63]).generate_state(1)[0]))
