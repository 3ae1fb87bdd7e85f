"""Sample transforms: resize (+ optional augmentation) that move the landmarks with the image.

Landmarks use the pixel-centre convention (pixel ``(r, c)`` is at ``x=c, y=r``);
albumentations uses pixel corners, so they are shifted by half a pixel around it.
"""

from __future__ import annotations

import albumentations as A
import numpy as np
import torch

from datamodules.face_shape import FLIP_PERMUTATION
from user_errors import UserError

NORMALIZATIONS = {
    "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),  # x / 255, as the study did
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


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
    indices mirrored) and mild photometric ones. Returns image [3, S, S] float and
    landmarks [68, 2] float in the output's pixels (NaN stays NaN)."""

    def __init__(self, size: int, augment: bool = False, normalization: str = "unit") -> None:
        if normalization not in NORMALIZATIONS:
            raise UserError(f"Unknown normalization '{normalization}': choose one of {', '.join(NORMALIZATIONS)}.")
        self.size = size
        self.augment = augment
        mean, std = NORMALIZATIONS[normalization]
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)
        steps: list[A.BasicTransform] = [A.Resize(size, size)]
        if augment:
            steps = [
                A.Resize(size, size),
                A.Affine(rotate=(-6, 6), p=1.0),
                A.RandomResizedCrop((size, size), scale=(0.8, 1.0), ratio=(0.9, 1.1), p=1.0),
                A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02, p=0.8),
            ]
        self.pipeline = A.Compose(steps, keypoint_params=A.KeypointParams(format="xy", remove_invisible=False))

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        image = to_rgb(image)
        missing = not np.isfinite(landmarks).all()
        points = np.zeros((68, 2), np.float32) if missing else landmarks.astype(np.float32) + 0.5
        out = self.pipeline(image=image, keypoints=points)
        image, points = out["image"], np.asarray(out["keypoints"], np.float32)[:, :2] - 0.5
        if self.augment and np.random.random() < 0.5:
            image = image[:, ::-1]
            points = points[FLIP_PERMUTATION]
            points[:, 0] = image.shape[1] - 1 - points[:, 0]
        if missing:
            points = np.full((68, 2), np.nan, np.float32)
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0
        return (tensor - self.mean) / self.std, torch.from_numpy(points)
