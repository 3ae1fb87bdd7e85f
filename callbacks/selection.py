"""Which images an after-fit pass works on, the same on every rank: the explained split's
predictions gathered over the ranks (``split_predictions``), then at most ``per_class`` per
target class drawn with the run's seed (``select_samples``). Shared by the heatmap pass
(``global_saliency.GlobalSaliency``) and the region-importance pass (``region_importance``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist

from ferlens.evaluation.faithfulness.curves import evaluating
from ferlens.user_errors import UserError

SPLITS = ("auto", "test", "val")
SPLIT_NAMES = {"val": "validation", "test": "test"}


def gather(local: Any) -> list[Any]:
    """``local`` of every rank, in rank order (a one-item list without DDP)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [local]
    everything: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(everything, local)
    return everything


def loader_batches(datamodule: L.LightningDataModule, split: str) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(sample indices, labels, images) of ferlens' datamodule's ``split`` loader (``val`` or
    ``test``): each rank its share, none padded."""
    loader = datamodule.val_dataloader() if split == "val" else datamodule.test_dataloader()
    return ((batch["index"], batch["label"], batch["image"]) for batch in loader)


Batches = Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def split_predictions(pl_module: L.LightningModule, batches: Batches, classes: int, caller: str) -> np.ndarray:
    """[N, 3] int (sample index, label, predicted class) of ``batches`` (this rank's (indices,
    labels, images [B, 3, H, W])), gathered over all ranks; the module runs in eval mode
    without gradients (its mode is restored). Logits that are not [B, ``classes``] are refused
    in one sentence naming the ``caller``."""
    records = []
    with evaluating(pl_module):
        for indices, labels, images in batches:
            logits = pl_module(images.to(pl_module.device))
            if logits.ndim != 2 or logits.shape[1] != classes:
                raise UserError(
                    f"{caller} got outputs {list(logits.shape)} from the model for {classes} classes: the model must return logits [B, {classes}], "
                    "one per class in label order; check its head or the class list."
                )
            records.append(torch.stack([indices.cpu(), labels.cpu(), logits.argmax(dim=1).cpu()], dim=1))
    local = torch.cat(records).numpy() if records else np.zeros((0, 3), np.int64)
    return np.concatenate(gather(local))


def select_samples(
    indices: np.ndarray, labels: np.ndarray, predictions: np.ndarray, target: str, correct_only: bool, per_class: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(selected sample indices sorted, their target classes): per target class at most
    ``per_class`` samples, drawn at random with ``seed`` (the same on every rank)."""
    order = np.argsort(indices)
    indices, labels, predictions = indices[order], labels[order], predictions[order]
    classes = predictions if target == "predicted" else labels
    keep = predictions == labels if correct_only else np.ones(len(indices), bool)
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(classes[keep]):
        candidates = np.flatnonzero(keep & (classes == cls))
        if per_class is not None and len(candidates) > per_class:
            candidates = np.sort(rng.choice(candidates, per_class, replace=False))
        chosen.append(candidates)
    picked = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, int)
    return indices[picked], classes[picked]
