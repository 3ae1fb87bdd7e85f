"""RISE, randomized input sampling (Petsiuk et al. 2018)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.base import Explainer


@dataclass(frozen=True)
class MaskDraws:
    """The random part of RISE's masks: ``grids`` [N, 1, cells, cells] binary cells, ``shifts``
    [N, 2] (row, column) shifts in pixels, each less than one cell."""

    grids: torch.Tensor
    shifts: torch.Tensor


def draw_masks(count: int, size: tuple[int, int], cells: int, probability: float, seed: int) -> MaskDraws:
    """``count`` masks' cells (kept with ``probability``) and shifts for images of ``size`` (H, W), from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    grids = (torch.rand(count, 1, cells, cells, generator=generator) < probability).float()
    cell = torch.tensor([math.ceil(side / cells) for side in size])
    return MaskDraws(grids, (torch.rand(count, 2, generator=generator) * cell).long())


def rise_masks(draws: MaskDraws, size: tuple[int, int]) -> torch.Tensor:
    """[N, H, W] masks in [0, 1] (the paper's recipe): each grid upsampled bilinear to
    (cells + 1) x the cell size, cropped to ``size`` at its shift."""
    height, width = size
    cells = draws.grids.shape[-1]
    upsampled = F.interpolate(
        draws.grids, size=((cells + 1) * math.ceil(height / cells), (cells + 1) * math.ceil(width / cells)), mode="bilinear", align_corners=False
    )[:, 0]
    rows = draws.shifts[:, :1] + torch.arange(height)[None]  # [N, H]
    columns = draws.shifts[:, 1:] + torch.arange(width)[None]  # [N, W]
    return upsampled[torch.arange(len(upsampled))[:, None, None], rows[:, :, None], columns[:, None, :]]


@register_explainer("rise")
class RISE(Explainer):
    """sum_i p_t(x * M_i) M_i / (``masks`` ``probability``): the target-class softmax probability
    of the image under ``masks`` random masks (``rise_masks``: ``cells`` a side, kept with
    ``probability``; hidden pixels go to raw 0, black), each mask weighted by it. Non-negative.
    The masks come from ``seed`` and are shared by every image (an image's map does not depend on
    its batch); ``batch_size`` masked images per forward pass (masks are built ``batch_size`` at a time)."""

    def __init__(self, masks: int = 2000, cells: int = 8, probability: float = 0.5, batch_size: int = 64, seed: int = 0) -> None:
        self.masks = masks
        self.cells = cells
        self.probability = probability
        self.batch_size = batch_size
        self.seed = seed

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        size = tuple(images.shape[-2:])
        draws = draw_masks(self.masks, size, self.cells, self.probability, self.seed)
        maps = torch.zeros(images.shape[0], *size, device=images.device)
        with torch.no_grad():
            for start in range(0, self.masks, self.batch_size):
                chunk = slice(start, start + self.batch_size)
                masks = rise_masks(MaskDraws(draws.grids[chunk], draws.shifts[chunk]), size).to(images)
                for b, (image, target) in enumerate(zip(images, targets.tolist(), strict=True)):
                    scores = model(image * masks[:, None]).softmax(dim=1)[:, target]
                    maps[b] += (scores[:, None, None] * masks).sum(dim=0)
        return maps / (self.masks * self.probability)
