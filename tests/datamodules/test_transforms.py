import numpy as np
import torch

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.datamodules.transforms import FaceTransform, to_rgb


def test_resize_moves_landmarks_exactly_with_the_image():
    large, small = SyntheticFaces(4, 2, 128, seed=1)[3], SyntheticFaces(4, 2, 64, seed=1)[3]
    image, landmarks = FaceTransform(64)(large.image, large.landmarks)
    assert image.shape == (3, 64, 64)
    np.testing.assert_allclose(landmarks.numpy(), small.landmarks, atol=1e-3)
    # the resized image matches a face rendered at 64 px in the same place
    assert torch.corrcoef(torch.stack([image.mean(0).flatten(), torch.from_numpy(small.image).float().mean(2).flatten()]))[0, 1] > 0.9


def test_images_leave_as_raw_rgb_in_unit_range():
    """The network normalizes its own input: the transform only scales by 1/255."""
    sample = SyntheticFaces(2, 1, 64)[0]
    image, _ = FaceTransform(64)(sample.image, sample.landmarks)
    np.testing.assert_allclose(image.permute(1, 2, 0).numpy(), sample.image / 255.0, atol=1e-6)


def test_augmentation_repeats_with_one_seed_and_differs_with_another():
    sample = SyntheticFaces(2, 1, 64, seed=4)[0]

    def draws(seed: int) -> list[torch.Tensor]:
        transform = FaceTransform(64, augment=True, seed=seed)
        np.random.seed(seed + 100)  # the global numpy RNG must play no part
        return [transform(sample.image, sample.landmarks)[0] for _ in range(4)]

    first, again, other = draws(1), draws(1), draws(2)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not any(torch.equal(a, b) for a, b in zip(first, other, strict=True))
    assert not torch.equal(first[0], first[1])  # the stream moves on between samples


def test_augmentation_keeps_landmark_semantics_and_bounds():
    faces = SyntheticFaces(6, 3, 96, seed=2)
    transform = FaceTransform(64, augment=True)
    for i in range(6):
        for _ in range(5):
            _, points = transform(faces[i].image, faces[i].landmarks)
            x = points[:, 0].numpy()
            # image-left eye outer corner < its inner corner < other inner < other outer, flipped or not
            assert x[36] < x[39] < x[42] < x[45]
            assert x[48] < x[54] and x[0] < x[8] < x[16]
            assert (points > -8).all() and (points < 72).all()


def test_flip_mirrors_image_and_landmarks():
    sample = SyntheticFaces(2, 1, 64, seed=3)[1]
    transform = FaceTransform(64, augment=True)
    flipped = None
    for seed in range(20):
        transform.reseed(seed)
        _, points = transform(sample.image, sample.landmarks)
        plain_tip = sample.landmarks[33, 0]
        if abs(points[33, 0].item() - (63 - plain_tip)) < abs(points[33, 0].item() - plain_tip):
            flipped = points
            break
    assert flipped is not None, "no flip in 20 draws of p=0.5"


def test_gray_rgba_and_missing_landmarks():
    gray = np.full((40, 50), 128, np.uint8)
    assert to_rgb(gray).shape == (40, 50, 3)
    assert to_rgb(np.zeros((40, 50, 4), np.uint8)).shape == (40, 50, 3)
    image, points = FaceTransform(32)(gray, np.full((68, 2), np.nan, np.float32))
    assert image.shape == (3, 32, 32) and torch.isnan(points).all()
