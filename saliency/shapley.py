"""Shared piece of the region Shapley explainers (KernelSHAP, Shapley value sampling): captum
over the regions of ``saliency.regions``, one image at a time."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ferlens.saliency.gradients import InputAttribution, seeded
from ferlens.saliency.regions import regions as region_labels


class RegionShapley(InputAttribution):
    """Shapley values of the target logit over regions (``regions``: ``superpixels`` or
    ``grid``, ``count`` segments or cells a side) hidden by a uniform ``baseline`` image (raw
    value, 0 = black); ``samples`` captum samples, ``batch_size`` perturbed images per forward
    pass, draws from ``seed`` (images explained in batch order). Signed: map = each region's
    value, positive part."""

    def __init__(self, regions: str = "superpixels", count: int = 30, baseline: float = 0.0, samples: int = 200, batch_size: int = 64, seed: int = 0) -> None:
        self.regions = regions
        self.count = count
        self.baseline = baseline
        self.samples = samples
        self.batch_size = batch_size
        self.seed = seed

    def arguments(self, images: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        masks = region_labels(images, self.regions, self.count)[:, None]  # [B, 1, H, W]
        return {
            "target": targets.tolist(),
            "baselines": self.baseline,
            "feature_mask": masks,
            "n_samples": self.samples,
            "perturbations_per_eval": self.batch_size,
        }

    def input_attributions(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        arguments = self.arguments(images, targets)
        method = self.attribution(model)
        values = []
        with seeded(self.seed):
            for b, target in enumerate(arguments["target"]):
                mask = arguments["feature_mask"][b : b + 1]
                if int(mask.max()) == 0:  # one region (a uniform image): its value is f(x) - f(baseline), exactly
                    with torch.no_grad():
                        scores = model(torch.cat([images[b : b + 1], torch.full_like(images[b : b + 1], self.baseline)]))[:, target]
                    values.append((scores[0] - scores[1]).expand_as(images[b : b + 1]))
                else:
                    values.append(method.attribute(images[b : b + 1], **(arguments | {"target": target, "feature_mask": mask})))
        return torch.cat(values)

    def reduce(self, attributions: torch.Tensor) -> torch.Tensor:
        return attributions[:, 0].clamp(min=0)  # a region's value, on each of its pixels and channels
