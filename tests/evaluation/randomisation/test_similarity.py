"""The batched Spearman and SSIM against scipy and skimage."""

import numpy as np
import pytest
import scipy.stats
import skimage.metrics
import torch

from ferlens.evaluation.randomisation.similarity import average_ranks, normalise_by_max, spearman, ssim


def maps_with_ties(seed: int) -> torch.Tensor:
    """[4, 20, 24] non-negative maps with many ties (values rounded to 0.1, a ReLU-like block of zeros)."""
    generator = torch.Generator().manual_seed(seed)
    maps = torch.rand(4, 20, 24, generator=generator).round(decimals=1)
    maps[:, :8] = 0
    return maps


def test_average_ranks_equal_scipy_rankdata_with_ties():
    values = maps_with_ties(0).flatten(1)
    expected = np.stack([scipy.stats.rankdata(row, method="average") for row in values.numpy()])
    np.testing.assert_array_equal(average_ranks(values).numpy(), expected)


def test_spearman_equals_scipy_and_is_nan_for_a_constant_map():
    maps, others = maps_with_ties(1), maps_with_ties(2)
    others[3] = 0  # a constant map (e.g. a Grad-CAM that found no positive evidence)
    ours = spearman(maps, others).numpy()
    with np.errstate(invalid="ignore"), pytest.warns(scipy.stats.ConstantInputWarning):
        expected = np.array([scipy.stats.spearmanr(a.flatten(), b.flatten())[0] for a, b in zip(maps.numpy(), others.numpy(), strict=True)])
    assert np.isnan(ours[3]) and np.isnan(expected[3])
    np.testing.assert_allclose(ours[:3], expected[:3], atol=1e-12)
    assert spearman(maps, maps * 3 + 1).numpy() == pytest.approx(1.0)  # ranks only: any increasing transform


def test_ssim_equals_skimage_on_max_normalised_maps_with_data_range_one():
    maps, others = maps_with_ties(3).double(), torch.rand(4, 20, 24, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 5
    others[2] = 0
    ours = ssim(maps, others).numpy()
    expected = [
        skimage.metrics.structural_similarity(a / a.max(), b / b.max() if b.max() > 0 else b, data_range=1.0)
        for a, b in zip(maps.numpy(), others.numpy(), strict=True)
    ]
    np.testing.assert_allclose(ours, expected, atol=1e-12)
    assert ssim(maps, maps * 7).numpy() == pytest.approx(1.0)  # scale-free: each map divided by its own maximum
    assert ssim(torch.zeros(1, 8, 8), torch.zeros(1, 8, 8)).item() == pytest.approx(1.0)


def test_normalise_by_max_keeps_zero_maps_and_ssim_refuses_tiny_or_mismatched_maps():
    maps = torch.stack([torch.zeros(3, 3), torch.full((3, 3), 2.0)])
    assert torch.equal(normalise_by_max(maps), torch.stack([torch.zeros(3, 3), torch.ones(3, 3)]))
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(torch.rand(2, 6, 9), torch.rand(2, 6, 9))
    with pytest.raises(ValueError, match="same shape"):
        ssim(torch.rand(2, 8, 8), torch.rand(2, 8, 9))
