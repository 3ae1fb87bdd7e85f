"""Extremal perturbations (Fong, Patrick & Vedaldi 2019), preservation game with a blur."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.saliency import register_explainer
from ferlens.saliency.base import Explainer


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """[B, C, H, W] blurred by a separable Gaussian of standard deviation ``sigma`` pixels (reflect padding)."""
    radius = max(1, int(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    rows = F.conv2d(padded, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)
    return F.conv2d(rows, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)


def area_target(count: int, area: float, device: torch.device) -> torch.Tensor:
    """[count] the sorted mask of area ``area``: round((1 - area) count) zeros, then ones."""
    ones = round(area * count)
    return torch.cat([torch.zeros(count - ones, device=device), torch.ones(ones, device=device)])


@register_explainer("extremal")
class ExtremalPerturbation(Explainer):
    """For each area a in ``areas`` (fractions of the image), the mask m in [0, 1] maximising
    S(m x + (1 - m) blur(x)) - ``area_weight`` mean((sort(m) - r_a)^2): S the target logit,
    blur a Gaussian of ``sigma`` (a fraction of the image side), r_a the sorted mask of area a
    (the paper's ranking regulariser, its weight raised geometrically from 1 to ``area_weight``
    over the steps, as TorchRay, so the score places the mask before the area is enforced). m = sigmoid of a ``cells`` x ``cells`` grid of logits
    upsampled bilinear, started at 0 (m = 0.5), Adam (``learning_rate``) for ``steps`` steps.
    Map: the mean of the areas' masks (non-negative, in [0, 1]). ``batch_size`` image-area
    pairs per forward pass."""

    def __init__(
        self,
        areas: tuple[float, ...] = (0.1,),
        steps: int = 300,
        cells: int = 14,
        sigma: float = 0.05,
        area_weight: float = 300.0,
        learning_rate: float = 0.1,
        batch_size: int = 32,
    ) -> None:
        self.areas = areas
        self.steps = steps
        self.cells = cells
        self.sigma = sigma
        self.area_weight = area_weight
        self.learning_rate = learning_rate
        self.batch_size = batch_size

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        pairs = [(b, area) for b in range(len(images)) for area in self.areas]
        masks = torch.zeros(len(pairs), *images.shape[-2:], device=images.device)
        for start in range(0, len(pairs), self.batch_size):
            chunk = pairs[start : start + self.batch_size]
            index = torch.tensor([b for b, _ in chunk], device=images.device)
            masks[start : start + len(chunk)] = self.optimise(model, images[index], targets[index], [area for _, area in chunk])
        return masks.view(len(images), len(self.areas), *images.shape[-2:]).mean(dim=1)

    def optimise(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor, areas: list[float]) -> torch.Tensor:
        """[N, H, W] extremal masks of ``images`` [N, 3, H, W] for their targets and areas."""
        size = images.shape[-2:]
        blurred = gaussian_blur(images, max(0.5, self.sigma * max(size)))
        references = torch.stack([area_target(size[0] * size[1], area, images.device) for area in areas])
        logits = torch.zeros(len(images), 1, self.cells, self.cells, device=images.device, requires_grad=True)
        optimiser = torch.optim.Adam([logits], lr=self.learning_rate)
        for step in range(self.steps):
            weight = self.area_weight ** (step / max(1, self.steps - 1))  # from 1 to area_weight, geometric (TorchRay's schedule)
            mask = F.interpolate(torch.sigmoid(logits), size=size, mode="bilinear", align_corners=False)
            scores = model(mask * images + (1 - mask) * blurred).gather(1, targets[:, None])[:, 0]
            regulariser = ((mask.flatten(1).sort(dim=1).values - references) ** 2).mean(dim=1)
            loss = (weight * regulariser - scores).sum()
            (logits.grad,) = torch.autograd.grad(loss, logits)  # not into the network's parameters
            optimiser.step()
        with torch.no_grad():
            return F.interpolate(torch.sigmoid(logits), size=size, mode="bilinear", align_corners=False)[:, 0]
