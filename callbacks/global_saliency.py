"""GlobalSaliency: one global heatmap per expression, accumulated over the validation set.

On the chosen validation epochs: every rank records (sample index, label, prediction) of
its validation samples; at the epoch's end the records of all ranks are gathered, the
same selection is made on every rank (target = predicted class or label, optionally only
correct predictions, at most N per class drawn with the run's seed), each selected sample
is explained by exactly one rank, warped into the template with its landmarks and summed
per class in a torchmetrics ``Metric`` (summed across ranks). Rank 0 writes the artifact
(``formats/heatmap_artifact.py``) and logs it to W&B. The result does not depend on the
number of processes.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist

from callbacks.heatmap_accumulator import GlobalHeatmapAccumulator
from faces.warp import TemplateWarper
from formats.heatmap_artifact import ARTIFACT_TYPE, write_artifact
from saliency import build_explainer
from user_errors import UserError

log = logging.getLogger(__name__)


def code_version() -> str:
    """The git commit of this checkout, or 'unknown'."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


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


class GlobalSaliency(L.Callback):
    """Per-expression global heatmaps of each configured saliency method.

    Args:
        methods: ``{key: {"name": <method>, **params}}`` (the ``saliency`` config).
        epochs: validation epochs (0-based) to run on; None = the last one (and any
            ``trainer.validate`` run).
        target: ``predicted`` class (the study) or the true class ``label``.
        correct_only: only correctly classified samples.
        per_class: at most this many samples per class (None: all).
        seed: selection seed (the run's seed).
        batch_size: samples explained at once.
        warp_mode: ``nearest`` (the study) or ``bilinear``.
        triangulation: ``template`` (fast) or ``face`` (the study's per-face rule).
        output_dir: where ``heatmaps/<method>/`` goes (default: the trainer's root dir).
    """

    def __init__(
        self,
        methods: dict[str, dict[str, Any]],
        epochs: list[int] | None = None,
        target: str = "predicted",
        correct_only: bool = False,
        per_class: int | None = 100,
        seed: int = 0,
        batch_size: int = 16,
        warp_mode: str = "nearest",
        triangulation: str = "template",
        output_dir: str | None = None,
    ) -> None:
        if target not in ("predicted", "label"):
            raise UserError(f"Unknown saliency target '{target}': use predicted (the predicted class) or label (the true class).")
        self.explainers = {key: build_explainer(**dict(spec)) for key, spec in methods.items()}
        self.epochs = None if epochs is None else set(epochs)
        self.target = target
        self.correct_only = correct_only
        self.per_class = per_class
        self.seed = seed
        self.batch_size = batch_size
        self.warp_mode = warp_mode
        self.triangulation = triangulation
        self.output_dir = output_dir
        self._records: list[torch.Tensor] = []

    def _active(self, trainer: L.Trainer) -> bool:
        if trainer.sanity_checking:
            return False
        if trainer.state.fn == "validate":
            return True
        if self.epochs is None:
            return trainer.current_epoch == trainer.max_epochs - 1
        return trainer.current_epoch in self.epochs

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._records = []

    def on_validation_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: dict, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if self._active(trainer):
            predictions = outputs["logits"].argmax(dim=1).cpu()
            self._records.append(torch.stack([batch["index"].cpu(), batch["label"].cpu(), predictions], dim=1))

    def _gathered_records(self) -> np.ndarray:
        local = torch.cat(self._records).numpy() if self._records else np.zeros((0, 3), np.int64)
        if not (dist.is_available() and dist.is_initialized()):
            return local
        everything: list[np.ndarray] = [None] * dist.get_world_size()  # type: ignore[list-item]
        dist.all_gather_object(everything, local)
        return np.concatenate(everything)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._active(trainer):
            return
        records = self._gathered_records()
        self._records = []
        indices, classes = select_samples(records[:, 0], records[:, 1], records[:, 2], self.target, self.correct_only, self.per_class, self.seed)
        rank, world = trainer.global_rank, trainer.world_size
        mine_indices, mine_classes = indices[rank::world], classes[rank::world]
        dataset = trainer.datamodule.dataset("val", augment=False)
        position = {int(source_index): p for p, source_index in enumerate(dataset.indices)}
        warper = TemplateWarper(pl_module.device, self.triangulation)
        class_names = list(pl_module.class_names)
        for key, explainer in self.explainers.items():
            accumulator = GlobalHeatmapAccumulator(len(class_names)).to(pl_module.device)
            for start in range(0, len(mine_indices), self.batch_size):
                items = [dataset[position[int(i)]] for i in mine_indices[start : start + self.batch_size]]
                images = torch.stack([item["image"] for item in items]).to(pl_module.device)
                landmarks = torch.stack([item["landmarks"] for item in items])
                targets = torch.as_tensor(mine_classes[start : start + self.batch_size], device=pl_module.device)
                valid = torch.isfinite(landmarks).flatten(1).all(dim=1)
                maps = explainer(pl_module.net, images, targets)
                accumulator.update(warper.to_template(maps, landmarks, self.warp_mode), targets, valid)
            means, counts, skipped = accumulator.compute()  # all ranks take part (sum across ranks)
            if trainer.is_global_zero:
                self._publish(trainer, pl_module, key, explainer, means.cpu().numpy(), counts.tolist(), int(skipped))

    def _publish(self, trainer: L.Trainer, pl_module: L.LightningModule, key: str, explainer: Any, means: np.ndarray, counts: list[int], skipped: int) -> None:
        hparams = pl_module.hparams
        datamodule = trainer.datamodule
        wandb_run = next((logger.experiment for logger in trainer.loggers if type(logger).__name__ == "WandbLogger"), None)
        manifest = {
            "run": {
                "id": getattr(wandb_run, "id", None),
                "name": getattr(wandb_run, "name", None),
                "model": dict(hparams.get("net", {})).get("name", type(pl_module.net).__name__),
                "pretrained": bool(dict(hparams.get("net", {})).get("pretrained", False)),
                "dataset": getattr(datamodule, "name", None),
                "fold": getattr(datamodule, "fold", None),
                "seed": self.seed,
                "epoch": trainer.current_epoch,
            },
            "saliency": {"key": key, "method": explainer.name, "params": {k: v for k, v in vars(explainer).items() if isinstance(v, int | float | str | bool)}},
            "selection": {"target": self.target, "correct_only": self.correct_only, "per_class": self.per_class, "seed": self.seed},
            "warp": {"mode": self.warp_mode, "triangulation": self.triangulation},
            "skipped_no_landmarks": skipped,
            "code_version": code_version(),
        }
        directory = Path(self.output_dir or trainer.default_root_dir) / "heatmaps" / key
        write_artifact(directory, means, counts, list(pl_module.class_names), manifest)
        log.info("global %s heatmaps (counts %s, %d skipped) written to %s", key, counts, skipped, directory)
        if wandb_run is not None:
            import wandb

            from formats.template_figure import heatmap_figure

            artifact = wandb.Artifact(f"heatmaps-{wandb_run.id}-{key}", type=ARTIFACT_TYPE, metadata=manifest)
            artifact.add_dir(str(directory))
            wandb_run.log_artifact(artifact)
            wandb_run.log({f"heatmaps/{key}": wandb.Image(heatmap_figure(means, list(pl_module.class_names), counts, key)), "epoch": trainer.current_epoch})
