"""Study 2's interpretability metrics as a torchmetrics ``Metric``: how well a map (layer
attention for ATT-COS, a CAM of the true class for CAM-COS) matches the AU map of the
image's true class, over the images whose AU map is valid.

Per image: the map, min-max normalised, against the AU map: their cosine, and the IoU of
the map's Otsu mask with the AU map's Otsu mask. Per class: the mean over its images.
Overall: the unweighted mean over the classes seen, Neutral excluded (it has no AUs).
States are per-class sums and counts, summed across DDP ranks: each image counts once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics import Metric

OTSU_BINS = 256


def min_max(maps: torch.Tensor) -> torch.Tensor:
    """[B, H, W] -> each map scaled to [0, 1] (a constant map -> zeros)."""
    flat = maps.flatten(1)
    low, high = flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values
    return ((flat - low) / (high - low).clamp(min=1e-12)).view_as(maps)


def otsu_masks(maps: torch.Tensor) -> torch.Tensor:
    """[B, H, W] maps in [0, 1] -> bool [B, H, W]: pixels above each map's Otsu threshold
    (between-class variance maximised over a 256-bin histogram, as ``skimage``'s
    ``threshold_otsu`` on 256 levels)."""
    levels = (maps.flatten(1).clamp(0, 1) * (OTSU_BINS - 1)).round().long()
    counts = torch.zeros(len(maps), OTSU_BINS, device=maps.device, dtype=torch.float64).scatter_add_(1, levels, torch.ones_like(levels, dtype=torch.float64))
    centres = torch.arange(OTSU_BINS, device=maps.device, dtype=torch.float64)
    weight_low = counts.cumsum(1)[:, :-1]
    weight_high = counts.flip(1).cumsum(1).flip(1)[:, 1:]
    mean_low = (counts * centres).cumsum(1)[:, :-1] / weight_low.clamp(min=1e-12)
    mean_high = (counts * centres).flip(1).cumsum(1).flip(1)[:, 1:] / weight_high.clamp(min=1e-12)
    variance = weight_low * weight_high * (mean_low - mean_high) ** 2
    threshold = variance.argmax(dim=1)  # the last level of the lower class
    return levels.view_as(maps) > threshold[:, None, None]


class AUAlignmentScore(Metric):
    """Cosine and Otsu IoU of maps against AU maps, per class.

    ``update(maps [B, H, W], au_maps [B, H, W], valid [B] bool, labels [B])``; ``compute()``
    -> ``{"cos", "iou"}`` (means over the non-neutral classes seen) and per class
    ``"cos/<Class>"`` (NaN for a class with no valid image)."""

    full_state_update = False

    def __init__(self, class_names: list[str]) -> None:
        super().__init__()
        self.class_names = list(class_names)
        classes = len(self.class_names)
        self.add_state("cos_sum", torch.zeros(classes, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("iou_sum", torch.zeros(classes, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros(classes, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, maps: torch.Tensor, au_maps: torch.Tensor, valid: torch.Tensor, labels: torch.Tensor) -> None:
        if not bool(valid.any()):
            return
        maps, au_maps, labels = min_max(maps[valid].float()), au_maps[valid].float(), labels[valid]
        cosine = F.cosine_similarity(maps.flatten(1), au_maps.flatten(1), dim=1, eps=1e-8)
        map_masks, au_masks = otsu_masks(maps), otsu_masks(min_max(au_maps))
        union = (map_masks | au_masks).flatten(1).sum(1).clamp(min=1)
        iou = (map_masks & au_masks).flatten(1).sum(1) / union
        self.cos_sum.index_add_(0, labels, cosine.double())
        self.iou_sum.index_add_(0, labels, iou.double())
        self.count.index_add_(0, labels, torch.ones_like(cosine, dtype=torch.float64))

    def compute(self) -> dict[str, torch.Tensor]:
        per_class_cos = self.cos_sum / self.count
        per_class_iou = self.iou_sum / self.count
        scored = torch.tensor([name != "Neutral" for name in self.class_names], device=self.count.device) & (self.count > 0)
        nan = torch.tensor(float("nan"), dtype=torch.float64, device=self.count.device)
        out = {
            "cos": per_class_cos[scored].mean() if scored.any() else nan,
            "iou": per_class_iou[scored].mean() if scored.any() else nan,
        }
        out.update({f"cos/{name}": per_class_cos[i] for i, name in enumerate(self.class_names) if name != "Neutral"})
        return {key: value.float() for key, value in out.items()}
