"""Feature regions of the Shapley explainers: SLIC superpixels of each image, or a fixed
template of square cells (the same regions for every image)."""

from __future__ import annotations

import torch

from ferlens.saliency.lime import superpixels
from ferlens.user_errors import UserError

KINDS = ("superpixels", "grid")


def regions(images: torch.Tensor, kind: str, count: int) -> torch.Tensor:
    """[B, H, W] long region labels 0..S-1 of raw images [B, 3, H, W]: ``superpixels`` (SLIC,
    ``count`` segments asked, compactness 20, as ``lime``) or ``grid`` (``count`` x ``count`` cells)."""
    if kind == "superpixels":
        return torch.from_numpy(superpixels(images.permute(0, 2, 3, 1).cpu().numpy(), count)).long().to(images.device)
    if kind == "grid":
        height, width = images.shape[-2:]
        rows = torch.arange(height, device=images.device) * count // height
        columns = torch.arange(width, device=images.device) * count // width
        return (rows[:, None] * count + columns[None, :]).expand(len(images), -1, -1)
    raise UserError(f"Unknown regions '{kind}': choose one of {', '.join(KINDS)}.")
