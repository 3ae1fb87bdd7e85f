"""ROAD's linear imputation against pytorch-grad-cam's ``NoisyLinearImputer`` and Quantus'
``noisy_linear_imputation``, both with noise 0 (the same system: pixel masks, weights)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pytorch_grad_cam.metrics.road import NoisyLinearImputer
from quantus.functions.perturb_func import noisy_linear_imputation

from ferlens.evaluation.faithfulness.imputation import NEIGHBOUR_WEIGHTS, impute_image, linear_imputation

SIDE = 24


def masks() -> torch.Tensor:
    """[4, 24, 24] bool: a smooth map's top 10 % and top 90 % (one blob, touching the border),
    scattered pixels (30 %), and a single removed pixel."""
    generator = torch.Generator().manual_seed(0)
    smooth = F.interpolate(torch.rand(1, 1, 4, 4, generator=generator), size=(SIDE, SIDE), mode="bilinear", align_corners=False)[0, 0]
    single = torch.zeros(SIDE, SIDE, dtype=torch.bool)
    single[5, 7] = True
    return torch.stack([smooth >= smooth.quantile(0.9), smooth >= smooth.quantile(0.1), torch.rand(SIDE, SIDE, generator=generator) < 0.3, single])


def test_imputation_equals_pytorch_grad_cam_and_quantus_without_noise():
    images = torch.rand(4, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(1))
    missing = masks()
    ours = linear_imputation(images, missing)
    assert ours.dtype == images.dtype and ours.shape == images.shape
    for image, mask, imputed in zip(images, missing, ours, strict=True):
        grad_cam = NoisyLinearImputer(noise=0.0)(image, (~mask).float())  # its mask: 1 = keep
        quantus = noisy_linear_imputation(image.numpy(), indices=np.flatnonzero(mask.numpy()), noise=0.0)
        assert (imputed - grad_cam).abs().max() <= 1e-6
        assert np.abs(imputed.numpy() - quantus).max() <= 1e-6
        assert torch.equal(imputed[:, ~mask], image[:, ~mask])  # known pixels untouched
        assert (imputed[:, mask] - image[:, mask]).abs().max() > 0.01  # and the removed ones replaced


def test_every_removed_pixel_is_the_weighted_mean_of_its_neighbours():
    image = np.random.default_rng(2).random((3, SIDE, SIDE))
    mask = masks()[2].numpy()
    imputed = impute_image(image, mask)
    padded = np.pad(imputed, ((0, 0), (1, 1), (1, 1)))
    inside = np.pad(np.ones((SIDE, SIDE)), 1)
    sums = sum(w * padded[:, 1 + dr : 1 + dr + SIDE, 1 + dc : 1 + dc + SIDE] for (dr, dc), w in NEIGHBOUR_WEIGHTS)
    weights = sum(w * inside[1 + dr : 1 + dr + SIDE, 1 + dc : 1 + dc + SIDE] for (dr, dc), w in NEIGHBOUR_WEIGHTS)
    np.testing.assert_allclose(imputed[:, mask], (sums / weights)[:, mask], atol=1e-12)


def test_nothing_removed_is_the_image_and_everything_removed_is_refused():
    image = np.random.default_rng(3).random((3, 8, 8))
    assert np.array_equal(impute_image(image, np.zeros((8, 8), bool)), image)
    with pytest.raises(ValueError, match="nothing to impute from"):
        impute_image(image, np.ones((8, 8), bool))
    with pytest.raises(ValueError, match="do not match"):
        linear_imputation(torch.rand(2, 3, 8, 8), torch.zeros(2, 8, 9, dtype=torch.bool))
