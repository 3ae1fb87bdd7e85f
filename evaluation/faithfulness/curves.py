"""Faithfulness of saliency maps, batched: deletion / insertion curves (Petsiuk et al. 2018,
RISE) and ROAD (Rong et al. 2022). All scores are the network's softmax probability of the
target class; images are raw RGB [B, 3, H, W] in [0, 1], maps [B, H, W] in image pixels,
targets [B] class indices.

Pixel order: by decreasing saliency, ties in a random order: a permutation of the pixels
drawn from ``seed`` and the image's bytes (``tie_breaks``), so a score does not depend on the
batch or the DDP rank and is the same in every run with the same seed. Raster order (a stable
sort) would remove the flat zero regions of CAMs and LIME superpixels top-down, a spatial bias
between methods with and without ties. Removing n pixels removes all three channels of the
first n (MoRF: most relevant first) or the last n (LeRF).

Deletion / insertion: ``steps`` + 1 points at fractions k / steps, k = 0..steps; step k
removes (deletion: sets to ``baseline``) or inserts (insertion: into an image all
``baseline``) the first floor(k H W / steps) pixels. ``baseline`` is a raw pixel value
(default 0 = black, the baseline of ferlens' IG, occlusion and LIME; RISE inserted into a
blurred image instead). AUC: trapezoidal rule over the fraction axis [0, 1]. Lower deletion
AUC and higher insertion AUC = more faithful.

ROAD: at each fraction f the floor(f H W) pixels of MoRF or LeRF order are removed and
imputed linearly from their neighbours (``evaluation.faithfulness.imputation``) plus Gaussian noise of
standard deviation ``noise`` (raw pixel units; drawn from the seed and the image's bytes, so
a score does not depend on the batch or the DDP rank; values are not clipped, as in the
references). Default fractions 10, 30, 50, 70 and 90 %: the range of Rong et al.'s and
pytorch-grad-cam's 10-90 % at half the cost. Combined score (pytorch-grad-cam's
``ROADCombined``): the mean over fractions of (LeRF - MoRF) / 2, higher = more faithful.

Normalised scores: the raw AUCs and ROAD probabilities scale with the network's confidence
(a network twice as sure of everything gets twice the AUCs), so networks are compared on each
image's score divided by its unperturbed target probability (``normalised_*``; NaN for an
image whose unperturbed probability is 0). A normalised deletion AUC of 0.3 says the curve
kept on average 30 % of the original probability; ROAD's normalised MoRF / LeRF are the share
of the original probability left after the removal.

Every forward pass stacks up to ``batch_size`` perturbed images, whichever images and steps
they come from; the network runs in eval mode without gradients (its mode is restored).
"""

from __future__ import annotations

import contextlib
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ferlens.evaluation.faithfulness.imputation import linear_imputation
from ferlens.user_errors import UserError

DELETION_STEPS = 20
ROAD_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
ROAD_NOISE = 0.01
#: how the ``normalised_*`` scores are normalised (recorded in the manifest)
NORMALISATION = "each image's score divided by its unperturbed target probability"
#: the random stream of the tie-break permutations (ROAD's noise streams are keyed by order and fraction instead)
_TIE_STREAM = 2


@dataclass(frozen=True)
class DeletionInsertion:
    """``deletion`` and ``insertion`` [B, steps + 1]: the target probability after step k
    (column k, fraction k / steps of the pixels removed / inserted)."""

    deletion: torch.Tensor
    insertion: torch.Tensor

    @property
    def fractions(self) -> torch.Tensor:
        """[steps + 1] fractions of the pixels removed (deletion) or inserted (insertion)."""
        return torch.arange(self.deletion.shape[1], dtype=torch.float64) / (self.deletion.shape[1] - 1)

    @property
    def deletion_auc(self) -> torch.Tensor:
        """[B] area under the deletion curve (trapezoidal, fractions in [0, 1]); lower = more faithful."""
        return trapezoid_auc(self.deletion)

    @property
    def insertion_auc(self) -> torch.Tensor:
        """[B] area under the insertion curve; higher = more faithful."""
        return trapezoid_auc(self.insertion)

    @property
    def original(self) -> torch.Tensor:
        """[B] the target probability of the unperturbed image (the deletion curve's first point)."""
        return self.deletion[:, 0]

    @property
    def normalised_deletion_auc(self) -> torch.Tensor:
        """[B] float64 deletion AUC / the unperturbed target probability (module docstring)."""
        return relative_to(self.deletion_auc, self.original)

    @property
    def normalised_insertion_auc(self) -> torch.Tensor:
        """[B] float64 insertion AUC / the unperturbed target probability."""
        return relative_to(self.insertion_auc, self.original)


@dataclass(frozen=True)
class RoadScores:
    """ROAD at ``fractions``: ``original`` [B] the target probability of the unperturbed image;
    ``morf`` / ``lerf`` [B, F] after removing and imputing the most / least relevant fraction;
    ``morf_kept`` / ``lerf_kept`` [B, F] bool: the network still predicts the target (ROAD's
    accuracy, as Rong et al. and Quantus report it)."""

    fractions: tuple[float, ...]
    original: torch.Tensor
    morf: torch.Tensor
    lerf: torch.Tensor
    morf_kept: torch.Tensor
    lerf_kept: torch.Tensor

    @property
    def combined(self) -> torch.Tensor:
        """[B] mean over fractions of (LeRF - MoRF) / 2 (pytorch-grad-cam's ``ROADCombined``)."""
        return ((self.lerf.double() - self.morf.double()) / 2).mean(dim=1)

    @property
    def normalised_morf(self) -> torch.Tensor:
        """[B, F] float64 MoRF probability / the unperturbed target probability."""
        return relative_to(self.morf, self.original)

    @property
    def normalised_lerf(self) -> torch.Tensor:
        """[B, F] float64 LeRF probability / the unperturbed target probability."""
        return relative_to(self.lerf, self.original)

    @property
    def normalised_combined(self) -> torch.Tensor:
        """[B] float64 the combined score / the unperturbed target probability."""
        return relative_to(self.combined, self.original)


def relative_to(scores: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """``scores`` [B, ...] / ``original`` [B] per image, float64; NaN where ``original`` is 0."""
    original = original.double().view(-1, *[1] * (scores.dim() - 1))
    return torch.where(original > 0, scores.double() / original.clamp(min=torch.finfo(torch.float64).tiny), torch.full_like(original, float("nan")))


def trapezoid_auc(curves: torch.Tensor) -> torch.Tensor:
    """[B, K + 1] values at fractions 0, 1/K, ..., 1 -> [B] float64 trapezoidal area."""
    values = curves.double()
    return (values.sum(dim=1) - (values[:, 0] + values[:, -1]) / 2) / (values.shape[1] - 1)


def image_seeds(images: torch.Tensor) -> list[int]:
    """[B, 3, H, W] -> per image the CRC-32 of its float32 bytes: the image's part of every random draw."""
    return [zlib.crc32(image.numpy().tobytes()) for image in images.detach().cpu().float().contiguous()]


def tie_breaks(images: torch.Tensor, seed: int) -> torch.Tensor:
    """[B, 3, H, W] -> [B, H W] long: per image a random permutation of its pixels, drawn from
    ``seed`` and the image's bytes; pixels of equal saliency are ordered by their place in it."""
    pixels = images.shape[2] * images.shape[3]
    orders = [np.random.default_rng([seed, image_seed, _TIE_STREAM]).permutation(pixels) for image_seed in image_seeds(images)]
    return torch.from_numpy(np.stack(orders)).to(images.device) if orders else torch.zeros(0, pixels, dtype=torch.long, device=images.device)


def saliency_ranks(maps: torch.Tensor, ties: torch.Tensor) -> torch.Tensor:
    """[B, H, W] -> [B, H W] long: each pixel's place in the order of decreasing saliency
    (0 = most salient), pixels of equal saliency in the order of ``ties`` ([B, H W], a
    permutation of the pixels per image: ``tie_breaks``; ``arange`` gives raster order)."""
    flat = maps.flatten(1)
    ties = ties.to(maps.device)
    order = ties.gather(1, flat.gather(1, ties).sort(dim=1, descending=True, stable=True).indices)
    positions = torch.arange(flat.shape[1], device=maps.device).expand_as(order)
    return torch.empty_like(order).scatter_(1, order, positions)


def removed_count(fraction: float, pixels: int) -> int:
    """floor(fraction * pixels), robust to the float error of fractions like 0.7."""
    return math.floor(fraction * pixels + 1e-9)


def deletion_insertion(
    net: nn.Module,
    images: torch.Tensor,
    maps: torch.Tensor,
    targets: torch.Tensor,
    steps: int = DELETION_STEPS,
    baseline: float = 0.0,
    batch_size: int = 64,
    seed: int = 0,
) -> DeletionInsertion:
    """Deletion and insertion curves (module docstring): B (2 steps - 1) + 1 forward images
    (the original once per image, the all-``baseline`` image once for the batch); ``seed``
    draws the order of tied pixels."""
    _check(images, maps, targets)
    if steps < 2:
        raise UserError(f"Deletion/insertion curves need at least 2 steps, got {steps}: set steps to 2 or more (default {DELETION_STEPS}).")
    count, pixels = len(images), maps[0].numel()
    ranks, targets = saliency_ranks(maps.to(images.device), tie_breaks(images, seed)), targets.to(images.device)
    interior = torch.arange(1, steps, device=images.device)
    # jobs: per image the original (deletion step 0), deletion steps 1..steps-1, insertion steps 1..steps-1
    step = torch.cat([torch.zeros(1, dtype=torch.long, device=images.device), interior, interior]).repeat(count)
    inserting = torch.cat([torch.zeros(steps, dtype=torch.bool), torch.ones(steps - 1, dtype=torch.bool)]).to(images.device).repeat(count)
    image_of = torch.arange(count, device=images.device).repeat_interleave(2 * steps - 1)
    thresholds = step * pixels // steps

    def perturbed(jobs: slice) -> torch.Tensor:
        job_ranks, limit = ranks[image_of[jobs]], thresholds[jobs, None]
        keep = torch.where(inserting[jobs, None], job_ranks < limit, job_ranks >= limit)
        return torch.where(keep.view(-1, 1, *images.shape[2:]), images[image_of[jobs]], torch.full_like(images[:1], baseline))

    with evaluating(net):
        probabilities, _ = _target_probabilities(net, perturbed, targets[image_of], batch_size)
        blank = net(torch.full_like(images[:1], baseline)).float().softmax(dim=1)[0].cpu()[targets.cpu()]
    probabilities = probabilities.view(count, 2 * steps - 1)
    original = probabilities[:, 0]
    deletion = torch.cat([probabilities[:, :steps], blank[:, None]], dim=1)
    insertion = torch.cat([blank[:, None], probabilities[:, steps:], original[:, None]], dim=1)
    return DeletionInsertion(deletion=deletion, insertion=insertion)


def road(
    net: nn.Module,
    images: torch.Tensor,
    maps: torch.Tensor,
    targets: torch.Tensor,
    fractions: tuple[float, ...] = ROAD_FRACTIONS,
    noise: float = ROAD_NOISE,
    seed: int = 0,
    batch_size: int = 64,
) -> RoadScores:
    """ROAD, MoRF and LeRF, at ``fractions`` (module docstring): B (2 F + 1) forward images and
    2 B F sparse solves (on the CPU); ``seed`` draws the noise and the order of tied pixels."""
    _check(images, maps, targets)
    if not fractions or not all(0 < f < 1 for f in fractions):
        raise UserError(
            f"ROAD removes a fraction of the pixels strictly between 0 and 1, got {list(fractions)}: give fractions such as {list(ROAD_FRACTIONS)}."
        )
    count, pixels = len(images), maps[0].numel()
    ranks, targets = saliency_ranks(maps.to(images.device), tie_breaks(images, seed)), targets.to(images.device)
    removed = torch.tensor([removed_count(f, pixels) for f in fractions], device=images.device)
    jobs_per_image = 2 * len(fractions)
    image_of = torch.arange(count, device=images.device).repeat_interleave(jobs_per_image)
    lerf = torch.arange(2, device=images.device).repeat_interleave(len(fractions)).bool().repeat(count)
    fraction_of = torch.arange(len(fractions), device=images.device).repeat(2 * count)
    host_images = images.detach().cpu().float().contiguous()
    seeds = image_seeds(host_images)

    def perturbed(jobs: slice) -> torch.Tensor:
        job_ranks, limit = ranks[image_of[jobs]], removed[fraction_of[jobs], None]
        missing = torch.where(lerf[jobs, None], job_ranks >= pixels - limit, job_ranks < limit).view(-1, *images.shape[2:])
        imputed = linear_imputation(host_images[image_of[jobs].cpu()], missing.cpu())
        if noise > 0:
            draws = [
                np.random.default_rng([seed, seeds[int(b)], int(o), int(f)]).standard_normal(images.shape[1:])
                for b, o, f in zip(image_of[jobs].tolist(), lerf[jobs].tolist(), fraction_of[jobs].tolist(), strict=True)
            ]
            imputed += noise * torch.from_numpy(np.stack(draws)).float() * missing.cpu()[:, None]
        return imputed.to(device=images.device, dtype=images.dtype)

    with evaluating(net):
        original, _ = _target_probabilities(net, lambda jobs: images[jobs], targets, batch_size)
        probabilities, kept = _target_probabilities(net, perturbed, targets[image_of], batch_size)
    shape = (count, 2, len(fractions))
    probabilities, kept = probabilities.view(shape), kept.view(shape)
    return RoadScores(tuple(fractions), original, probabilities[:, 0], probabilities[:, 1], kept[:, 0], kept[:, 1])


def _check(images: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor) -> None:
    if images.dim() != 4 or maps.shape != (images.shape[0], *images.shape[2:]) or targets.shape != images.shape[:1]:
        raise ValueError(
            f"faithfulness needs images [B, 3, H, W], maps [B, H, W] and targets [B] of one batch, got {tuple(images.shape)}, "
            f"{tuple(maps.shape)} and {tuple(targets.shape)}"
        )


@contextlib.contextmanager
def evaluating(net: nn.Module) -> Iterator[None]:
    """The network in eval mode without gradients; its mode restored after."""
    training = net.training
    net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        net.train(training)


def _target_probabilities(
    net: nn.Module, make_images: Callable[[slice], torch.Tensor], targets: torch.Tensor, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """For J = len(targets) jobs, the images ``make_images(jobs)`` of each slice of at most
    ``batch_size`` jobs through ``net``: ([J] target softmax probability float32 on the CPU,
    [J] bool argmax == target)."""
    probabilities, kept = [], []
    for start in range(0, len(targets), batch_size):
        jobs = slice(start, min(start + batch_size, len(targets)))
        scores = net(make_images(jobs)).float().softmax(dim=1).cpu()
        job_targets = targets[jobs].cpu()
        probabilities.append(scores.gather(1, job_targets[:, None])[:, 0])
        kept.append(scores.argmax(dim=1) == job_targets)
    return torch.cat(probabilities), torch.cat(kept)
