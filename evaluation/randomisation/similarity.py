"""Similarity of two batches of saliency maps, batched in torch: Spearman rank correlation
(as ``scipy.stats.spearmanr``) and SSIM (as ``skimage.metrics.structural_similarity``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: SSIM's window side (pixels, uniform window, as skimage's default) and constants.
SSIM_WINDOW = 7
SSIM_K1, SSIM_K2 = 0.01, 0.03


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """[B, N] -> [B, N] float64 ranks 1..N within each row, ties given their mean rank
    (``scipy.stats.rankdata(method="average")``)."""
    rows, count = values.shape
    ordered, order = values.sort(dim=1, stable=True)
    starts = torch.ones_like(ordered, dtype=torch.bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    groups = (starts.cumsum(dim=1) - 1 + torch.arange(rows, device=values.device)[:, None] * count).flatten()
    positions = torch.arange(1, count + 1, dtype=torch.float64, device=values.device).repeat(rows)
    sums = torch.zeros(rows * count, dtype=torch.float64, device=values.device).index_add_(0, groups, positions)
    sizes = torch.zeros(rows * count, dtype=torch.float64, device=values.device).index_add_(0, groups, torch.ones_like(positions))
    mean_ranks = (sums / sizes.clamp(min=1))[groups].view(rows, count)
    return torch.empty_like(mean_ranks).scatter_(1, order, mean_ranks)


def spearman(maps: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """[B, ...] x [B, ...] -> [B] float64: each pair's Spearman rank correlation over all its
    values (average ranks for ties); NaN where either map is constant (no ranking to correlate,
    as scipy)."""
    ranks = average_ranks(maps.flatten(1)), average_ranks(others.flatten(1))
    centred = [r - r.mean(dim=1, keepdim=True) for r in ranks]
    norms = centred[0].norm(dim=1) * centred[1].norm(dim=1)
    correlation = (centred[0] * centred[1]).sum(dim=1) / norms
    return torch.where(norms > 0, correlation, torch.full_like(correlation, float("nan")))


def normalise_by_max(maps: torch.Tensor) -> torch.Tensor:
    """[B, H, W] non-negative -> each map divided by its own maximum (in [0, 1]); an all-zero map stays 0."""
    peaks = maps.flatten(1).amax(dim=1).view(-1, 1, 1)
    return torch.where(peaks > 0, maps / peaks.clamp(min=torch.finfo(maps.dtype).tiny), torch.zeros_like(maps))


def ssim(maps: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """[B, H, W] x [B, H, W] non-negative maps -> [B] float64 SSIM (Wang et al. 2004) of each pair
    after each map is divided by its own maximum, with data range 1: skimage's
    ``structural_similarity(a / a.max(), b / b.max(), data_range=1)`` (7x7 uniform window,
    sample covariance, K1 = 0.01, K2 = 0.03, the mean over the windows inside the map).
    Two all-zero maps have SSIM 1. Maps need at least 7x7 pixels."""
    if maps.shape != others.shape or maps.dim() != 3:
        raise ValueError(f"ssim needs two [B, H, W] batches of the same shape, got {tuple(maps.shape)} and {tuple(others.shape)}")
    if min(maps.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"ssim needs maps of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {tuple(maps.shape[-2:])}")
    x, y = (normalise_by_max(m.double())[:, None] for m in (maps, others))

    def mean(image: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(image, SSIM_WINDOW, stride=1)

    samples = SSIM_WINDOW**2
    unbiased = samples / (samples - 1)
    mean_x, mean_y = mean(x), mean(y)
    var_x = unbiased * (mean(x * x) - mean_x**2)
    var_y = unbiased * (mean(y * y) - mean_y**2)
    cov_xy = unbiased * (mean(x * y) - mean_x * mean_y)
    c1, c2 = SSIM_K1**2, SSIM_K2**2  # (K * data range)^2, data range 1
    index = ((2 * mean_x * mean_y + c1) * (2 * cov_xy + c2)) / ((mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2))
    return index.flatten(1).mean(dim=1)
