"""AU maps in the batches: drawn from each sample's landmarks after the transform, so they
follow every geometric augmentation; only the loaders that need them carry them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from ferlens.datamodules.face_shape import FLIP_PERMUTATION
from ferlens.datamodules.fer_datamodule import FERDataModule
from ferlens.datamodules.sources import DataError
from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.au import au_heatmap


def _close(moved: np.ndarray, expected: np.ndarray) -> None:
    """Equal to interpolation tolerance: the maps are smoothed on a fixed 28-cell grid."""
    assert np.abs(moved - expected).mean() < 0.03, np.abs(moved - expected).mean()
    assert np.corrcoef(moved.ravel(), expected.ravel())[0, 1] > 0.97


@pytest.fixture(scope="module")
def face():
    return SyntheticFaces(1, 1, 128, seed=4)[0]


def _flipped(landmarks: np.ndarray, width: int) -> np.ndarray:
    points = landmarks[FLIP_PERMUTATION].copy()
    points[:, 0] = width - 1 - points[:, 0]
    return points


@pytest.mark.parametrize("expression", ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"])
def test_the_map_of_a_flipped_face_is_the_flipped_map(face, expression):
    original, _ = au_heatmap(expression, face.landmarks, 128, 128)
    moved, valid = au_heatmap(expression, _flipped(face.landmarks, 128), 128, 128)
    _close(moved, original[:, ::-1])
    assert valid


def test_the_authors_slips_make_their_anger_and_fear_maps_lopsided(face):
    """Their AU10 at (x48, y50) / (x52, y54) and AU20 at 48-6 / 50-10 are not mirror images,
    so with ``au.codebook=authors`` a flipped face's map is not the flipped map for the
    expressions that use them (Anger: AU10; Fear: AU20); the others flip."""
    for expression in ("Anger", "Fear", "Disgust", "Happiness", "Sadness", "Surprise"):
        original, _ = au_heatmap(expression, face.landmarks, 128, 128, "authors")
        moved, _ = au_heatmap(expression, _flipped(face.landmarks, 128), 128, 128, "authors")
        correlation = np.corrcoef(moved.ravel(), original[:, ::-1].ravel())[0, 1]
        assert (correlation < 0.95) if expression in ("Anger", "Fear") else (correlation > 0.97), (expression, correlation)


@pytest.mark.parametrize("expression", ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"])
def test_the_map_of_a_rotated_face_is_the_rotated_map(face, expression):
    rotation = cv2.getRotationMatrix2D((63.5, 63.5), 12, 1.0)
    original, _ = au_heatmap(expression, face.landmarks, 128, 128)
    moved, _ = au_heatmap(expression, face.landmarks @ rotation[:, :2].T + rotation[:, 2], 128, 128)
    _close(moved, cv2.warpAffine(original, rotation, (128, 128), flags=cv2.INTER_LINEAR))


@pytest.mark.parametrize("expression", ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"])
@pytest.mark.parametrize("codebook", ["ours", "authors"])
def test_the_map_of_a_cropped_face_is_the_cropped_map(face, expression, codebook):
    """A 112-px crop from (8, 6) resized back to 128 px (a random resized crop)."""
    scale = 128 / 112
    original, _ = au_heatmap(expression, face.landmarks, 128, 128, codebook)
    moved, _ = au_heatmap(expression, (face.landmarks - [8, 6] + 0.5) * scale - 0.5, 128, 128, codebook)
    expected = cv2.resize(original[6:118, 8:120], (128, 128), interpolation=cv2.INTER_LINEAR)
    if codebook == "authors":  # their circles are fixed pixels, so they do not grow with the crop
        assert np.corrcoef(moved.ravel(), expected.ravel())[0, 1] > 0.9
    else:
        _close(moved, expected)


def _datamodule(au_maps: str, augment: bool = True, codebook: str | None = "ours") -> FERDataModule:
    datamodule = FERDataModule(SyntheticFaces(60, 12, 64, seed=1), input_size=64, augment=augment, au_codebook=codebook, au_maps=au_maps, batch_size=8)
    datamodule.setup()
    return datamodule


def test_every_augmented_training_sample_carries_the_map_of_its_own_landmarks():
    datamodule = _datamodule("all")
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["au_map"].shape == (8, 64, 64) and batch["au_valid"].dtype == torch.bool and batch["au_valid"].all()
    for i in range(8):
        expected, _ = au_heatmap(datamodule.class_names[int(batch["label"][i])], batch["landmarks"][i].numpy(), 64, 64)
        np.testing.assert_array_equal(batch["au_map"][i].numpy(), expected)
    assert batch["position"].max() < len(datamodule.splits["train"])


def test_only_the_loaders_that_need_maps_carry_them_and_bad_names_are_one_sentence():
    eval_only = _datamodule("eval")
    assert "au_map" not in next(iter(eval_only.train_dataloader())) and "au_map" in next(iter(eval_only.val_dataloader()))
    assert "au_map" in next(iter(eval_only.test_dataloader()))
    assert "au_map" not in next(iter(_datamodule("eval", codebook=None).val_dataloader()))
    assert "au_map" not in eval_only.dataset("val", augment=False, au_maps=False)[0]  # the explanation pass's dataset
    with pytest.raises(DataError, match="Unknown AU codebook 'paper'"):
        _datamodule("eval", codebook="paper")
    with pytest.raises(DataError, match="Unknown data.au_maps 'train'"):
        _datamodule("train")
