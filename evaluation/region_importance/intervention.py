"""Region importance by intervention: how much the network's belief in the target expression
drops when one face region is removed, with no saliency map in between.

Regions (``region_names``): the AU regions of Study 2's codebook (``faces.au.face_regions``;
AUs drawn with the same ellipses share one region: ``AU12/AU15`` lip corners,
``AU23/AU24/AU26/AU27`` the mouth) and the parts of Friesen & Ekman's masks
(``faces.ekman_masks.REGIONS``), named ``au:<AUs>`` and ``ekman:<part>``. Each is drawn on
each image from its own landmarks (``region_masks``), so the intervention happens in image
space on the network's own input.

Intervention: the region's pixels are removed and imputed with ROAD's noisy linear
imputation (``evaluation.faithfulness.imputation``, Gaussian noise of ``noise`` raw pixel units at the
removed pixels, drawn from the seed and the image's bytes). Control: ``draws`` squares of the
region's area (side round(sqrt(area)) pixels) centred on face pixels (inside the convex hull
of the 68 landmarks) where the square fits in the image, drawn from the seed, the image's
bytes and the region, imputed the same way. A region matters "more than any patch this size"
when its drop exceeds the controls'.

Scores: the target class' softmax probability and logit of the unperturbed image and of each
intervention. ``RegionImportance.drop`` = original - intervened (probability; ``logit_drop``
the same on logits), NaN for a region with no pixel in the image. All imputations of a batch
are one sparse solve (``impute_jobs``); forward passes stack up to ``batch_size`` intervened
images. The network runs in eval mode without gradients (its mode is restored).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn

from ferlens.evaluation.faithfulness.curves import ROAD_NOISE, evaluating, image_seeds
from ferlens.evaluation.faithfulness.imputation import impute_jobs
from ferlens.faces.au import au_region_mask
from ferlens.faces.ekman_masks import EKMAN_MASK_REGIONS, REGIONS, draw_regions
from ferlens.faces.template import add_extra_points
from ferlens.user_errors import UserError

#: AU region name -> the AUs drawn with those ellipses (``faces.au.face_regions``)
AU_REGION_GROUPS: dict[str, tuple[int, ...]] = {
    "AU1": (1,),
    "AU2": (2,),
    "AU4": (4,),
    "AU5": (5,),
    "AU6": (6,),
    "AU7": (7,),
    "AU9": (9,),
    "AU10": (10,),
    "AU12/AU15": (12, 15),
    "AU16": (16,),
    "AU17": (17,),
    "AU20": (20,),
    "AU25": (25,),
    "AU23/AU24/AU26/AU27": (23, 24, 26, 27),
}
FAMILIES = ("au", "ekman")
CONTROL_DRAWS = 4
#: the random stream of the controls' positions (noise streams are keyed by job)
_POSITION_STREAM = 1


def region_names(families: Sequence[str] = FAMILIES) -> tuple[str, ...]:
    """The regions of ``families`` (``au``, ``ekman``), as ``<family>:<region>``."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise UserError(f"Unknown region families {list(unknown) or list(families)}: choose from {', '.join(FAMILIES)}, e.g. families=[au, ekman].")
    names: list[str] = []
    for family in families:
        names += [f"au:{name}" for name in AU_REGION_GROUPS] if family == "au" else [f"ekman:{part}" for part in REGIONS]
    return tuple(names)


def own_regions(names: Sequence[str], expression: str, aus: Sequence[int]) -> np.ndarray:
    """bool [R]: the regions of ``names`` that belong to ``expression``: an AU region holding
    one of its ``aus`` (the codebook's), an Ekman part of its Friesen & Ekman mask, a region
    ``class:<expression>`` (a known-truth region where one class acts, e.g.
    ``SyntheticFaces.class_regions``)."""
    own = []
    for name in names:
        family, region = name.split(":", 1)
        if family == "au":
            own.append(bool(set(AU_REGION_GROUPS[region]) & set(aus)))
        elif family == "class":
            own.append(region == expression)
        else:
            own.append(region in EKMAN_MASK_REGIONS.get(expression, ()))
    return np.array(own, bool)


def region_masks(names: Sequence[str], landmarks: np.ndarray, height: int, width: int) -> np.ndarray:
    """bool [R, height, width]: each named region drawn on an image of that size from its
    ``landmarks`` [68, 2] (image pixels); all False for a face without landmarks."""
    masks = np.zeros((len(names), height, width), bool)
    if not np.isfinite(landmarks).all():
        return masks
    points = add_extra_points(landmarks, width, height)
    for r, name in enumerate(names):
        family, region = name.split(":", 1)
        if family == "au":
            masks[r] = au_region_mask(AU_REGION_GROUPS[region][0], landmarks, height, width)
        else:
            masks[r] = draw_regions([region], points, height, width)
    return masks


def face_mask(landmarks: np.ndarray, height: int, width: int) -> np.ndarray:
    """bool [height, width]: the convex hull of the 68 landmarks (where control patches are centred)."""
    canvas = np.zeros((height, width), np.uint8)
    if np.isfinite(landmarks).all():
        hull = cv2.convexHull(np.round(np.asarray(landmarks) * 16).astype(np.int32))
        cv2.fillConvexPoly(canvas, hull, 1, cv2.LINE_8, 4)
    return canvas > 0


def control_masks(region: np.ndarray, face: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """bool [draws, H, W]: squares of the area of ``region`` [H, W] (side round(sqrt(area)))
    centred on random ``face`` pixels where the square fits in the image (any position that
    fits when none does); all False for an empty region."""
    height, width = region.shape
    masks = np.zeros((draws, height, width), bool)
    area = int(region.sum())
    if area == 0:
        return masks
    side = min(max(1, round(np.sqrt(area))), height, width)
    rows, columns = np.nonzero(face)
    tops, lefts = rows - side // 2, columns - side // 2
    fits = (tops >= 0) & (lefts >= 0) & (tops + side <= height) & (lefts + side <= width)
    if fits.any():
        tops, lefts = tops[fits], lefts[fits]
    else:
        tops, lefts = np.divmod(np.arange((height - side + 1) * (width - side + 1)), width - side + 1)
    for d, chosen in enumerate(rng.integers(0, len(tops), draws)):
        masks[d, tops[chosen] : tops[chosen] + side, lefts[chosen] : lefts[chosen] + side] = True
    return masks


@dataclass(frozen=True)
class RegionImportance:
    """The interventions of B images on R regions with D control draws: ``original`` /
    ``original_logit`` [B] the target probability / logit of the unperturbed image;
    ``probability`` / ``logit`` [B, R] with the region imputed, ``control_probability`` /
    ``control_logit`` [B, R, D] with each control patch imputed (NaN where the region has no
    pixel in the image); ``area`` [B, R] the region's pixels. float64."""

    regions: tuple[str, ...]
    original: torch.Tensor
    original_logit: torch.Tensor
    probability: torch.Tensor
    logit: torch.Tensor
    control_probability: torch.Tensor
    control_logit: torch.Tensor
    area: torch.Tensor

    @property
    def drop(self) -> torch.Tensor:
        """[B, R] original - intervened target probability (higher = the region matters more)."""
        return self.original[:, None] - self.probability

    @property
    def control_drop(self) -> torch.Tensor:
        """[B, R, D] the drop for each area-matched control patch."""
        return self.original[:, None, None] - self.control_probability

    @property
    def logit_drop(self) -> torch.Tensor:
        """[B, R] original - intervened target logit."""
        return self.original_logit[:, None] - self.logit

    @property
    def control_logit_drop(self) -> torch.Tensor:
        """[B, R, D] the logit drop for each control patch."""
        return self.original_logit[:, None, None] - self.control_logit


def intervene(
    net: nn.Module,
    images: torch.Tensor,
    masks: np.ndarray,
    faces: np.ndarray,
    targets: torch.Tensor,
    regions: Sequence[str],
    draws: int = CONTROL_DRAWS,
    noise: float = ROAD_NOISE,
    seed: int = 0,
    batch_size: int = 64,
) -> RegionImportance:
    """The interventions (module docstring) of ``images`` [B, 3, H, W] (raw RGB in [0, 1]) on
    the regions ``masks`` [B, R, H, W] bool, controls centred in ``faces`` [B, H, W] bool, for
    ``targets`` [B]: B (1 + R (1 + draws)) forward images, less the empty regions'."""
    count, region_count = masks.shape[:2]
    if images.dim() != 4 or masks.shape[2:] != tuple(images.shape[2:]) or len(images) != count or targets.shape != (count,):
        raise ValueError(
            f"intervene needs images [B, 3, H, W], masks [B, R, H, W] and targets [B], got {tuple(images.shape)}, {masks.shape}, {tuple(targets.shape)}"
        )
    if draws < 1:
        raise UserError(f"Region importance needs at least 1 control draw, got draws={draws}: set draws to 1 or more (default {CONTROL_DRAWS}).")
    host = images.detach().cpu().float().contiguous()
    seeds = image_seeds(host)
    # jobs: (image, region, draw) with draw -1 = the region itself
    all_masks = np.zeros((count, region_count, 1 + draws, *masks.shape[2:]), bool)
    for b in range(count):
        rng = np.random.default_rng([seed, seeds[b], _POSITION_STREAM])
        all_masks[b, :, 0] = masks[b]
        for r in range(region_count):
            all_masks[b, r, 1:] = control_masks(masks[b, r], faces[b], draws, rng)
    flat = all_masks.reshape(-1, *masks.shape[2:])
    active = np.flatnonzero(flat.any(axis=(1, 2)))
    image_of = active // (region_count * (1 + draws))
    host_numpy = host.numpy()

    def intervened(jobs: np.ndarray) -> torch.Tensor:
        missing = flat[jobs]
        imputed = impute_jobs(host_numpy, image_of[np.searchsorted(active, jobs)], missing)
        if noise > 0:
            for j, job in enumerate(jobs):
                b, rest = divmod(int(job), region_count * (1 + draws))
                where = missing[j]
                draw = np.random.default_rng([seed, seeds[b], 2 + rest]).standard_normal((imputed.shape[1], int(where.sum())))
                imputed[j][:, where] += noise * draw
        return torch.from_numpy(imputed).to(device=images.device, dtype=images.dtype)

    targets = targets.to(images.device)
    with evaluating(net):
        original_probability, original_logit = _target_scores(net, images, targets)
        probability = torch.full((len(flat),), float("nan"), dtype=torch.float64)
        logit = torch.full((len(flat),), float("nan"), dtype=torch.float64)
        for start in range(0, len(active), batch_size):
            jobs = active[start : start + batch_size]
            p, z = _target_scores(net, intervened(jobs), targets[torch.from_numpy(image_of[start : start + batch_size]).to(images.device)])
            probability[jobs], logit[jobs] = p, z
    shape = (count, region_count, 1 + draws)
    probability, logit = probability.view(shape), logit.view(shape)
    area = torch.from_numpy(masks.reshape(count, region_count, -1).sum(axis=2))
    return RegionImportance(
        tuple(regions), original_probability, original_logit, probability[:, :, 0], logit[:, :, 0], probability[:, :, 1:], logit[:, :, 1:], area
    )


def region_importance(
    net: nn.Module,
    images: torch.Tensor,
    landmarks: torch.Tensor,
    targets: torch.Tensor,
    regions: Sequence[str],
    draws: int = CONTROL_DRAWS,
    noise: float = ROAD_NOISE,
    seed: int = 0,
    batch_size: int = 64,
) -> RegionImportance:
    """``intervene`` on the named ``regions`` (``region_names``) of each image, drawn from its
    ``landmarks`` [B, 68, 2] (image pixels); controls centred in the landmarks' hull."""
    height, width = images.shape[2:]
    points = landmarks.detach().cpu().double().numpy()
    masks = np.stack([region_masks(regions, p, height, width) for p in points]) if len(points) else np.zeros((0, len(regions), height, width), bool)
    faces = np.stack([face_mask(p, height, width) for p in points]) if len(points) else np.zeros((0, height, width), bool)
    return intervene(net, images, masks, faces, targets, regions, draws, noise, seed, batch_size)


def _target_scores(net: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """([N] target softmax probability, [N] target logit), float64 on the CPU."""
    logits = net(images).double()
    chosen = targets[:, None].to(logits.device)
    return logits.softmax(dim=1).gather(1, chosen)[:, 0].cpu(), logits.gather(1, chosen)[:, 0].cpu()
