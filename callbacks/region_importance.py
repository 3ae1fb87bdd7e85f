"""RegionImportancePass (``+importance=au_regions``): after fit (the best checkpoint), or on
the given weights (``explain=<run>``, ``train=false``), intervene on every face region of the
explained images (``evaluation/region_importance/intervention.py``) and write the per-image evidence to
``<run dir>/importance/<name>/`` (``formats/importance_evidence.py``), which analyze.py reads.

The images are those of the heatmap pass: the explained split's samples, at most
``per_class`` per target class drawn with the run's seed (``callbacks.selection``). Each
selected image is intervened on by exactly one rank and gathered in a torchmetrics ``Metric``
(concatenated across ranks), so the result does not depend on the number of processes; only rank 0 writes. An image without landmarks has no regions: it is
left out, and the manifest counts the left-out images per class.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from tqdm.auto import tqdm

from ferlens.callbacks.checkpoints import best_checkpoint_callback
from ferlens.callbacks.global_saliency import code_version
from ferlens.callbacks.selection import SPLIT_NAMES, SPLITS, gather, loader_batches, select_samples, split_predictions
from ferlens.evaluation.faithfulness.curves import ROAD_NOISE
from ferlens.evaluation.region_importance.accumulator import RegionImportanceAccumulator
from ferlens.evaluation.region_importance.intervention import CONTROL_DRAWS, FAMILIES, RegionImportance, region_importance, region_names
from ferlens.formats.importance_evidence import ImportanceEvidence, write_importance
from ferlens.user_errors import UserError

log = logging.getLogger(__name__)


class RegionImportancePass(L.Callback):
    """Region importance by intervention of the images the heatmaps explain.

    Args:
        name: the output folder, ``importance/<name>/``.
        families: the region families (``au``: Study 2's AU regions; ``ekman``: the parts of
            Friesen & Ekman's masks).
        draws: area-matched control patches per region and image.
        noise: the imputation noise, raw pixel units (ROAD's).
        target, correct_only, per_class, seed, split: the selection, as the heatmap pass'
            (``callbacks.global_saliency.GlobalSaliency``).
        images_per_step: images intervened on together (their imputations are one sparse solve).
        batch_size: intervened images per forward pass.
        progress: show a progress bar.
        output_dir: where ``importance/<name>/`` goes (default: the trainer's root dir).
    """

    def __init__(
        self,
        name: str = "au_regions",
        families: list[str] | tuple[str, ...] = FAMILIES,
        draws: int = CONTROL_DRAWS,
        noise: float = ROAD_NOISE,
        target: str = "predicted",
        correct_only: bool = False,
        per_class: int | None = 100,
        seed: int = 0,
        split: str = "auto",
        images_per_step: int = 4,
        batch_size: int = 128,
        progress: bool = True,
        output_dir: str | None = None,
    ) -> None:
        if target not in ("predicted", "label"):
            raise UserError(f"Unknown importance target '{target}': use predicted (the predicted class) or label (the true class).")
        if split not in SPLITS:
            raise UserError(f"Unknown importance split '{split}': use auto (test when the run has one, else val), test or val.")
        if draws < 1:
            raise UserError(f"Region importance needs at least 1 control draw, got draws={draws}: set callbacks.region_importance.draws to 1 or more.")
        self.name = name
        self.regions = region_names(tuple(families))
        self.families = tuple(families)
        self.draws, self.noise = draws, noise
        self.target, self.correct_only, self.per_class, self.seed, self.split = target, correct_only, per_class, seed, split
        self.images_per_step, self.batch_size = images_per_step, batch_size
        self.progress, self.output_dir = progress, output_dir
        #: the directory written by this run (rank 0), else None
        self.written: Path | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != "validate":
            return
        epoch = getattr(pl_module, "initial_epoch", None)
        weights = {
            "source": "given weights",
            "checkpoint": getattr(pl_module, "initial_checkpoint", None),
            "epoch": trainer.current_epoch if epoch is None else epoch,
        }
        self.run_pass(trainer, pl_module, weights)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        checkpoint = best_checkpoint_callback(trainer)
        best = checkpoint.best_model_path if checkpoint is not None else ""
        final = copy.deepcopy(pl_module.state_dict())
        pl_module.to(trainer.strategy.root_device)
        try:
            if best:
                state = torch.load(best, map_location=pl_module.device, weights_only=True)
                pl_module.load_state_dict(state["state_dict"])
                weights = {"source": "best checkpoint", "checkpoint": str(Path(best).resolve()), "epoch": int(state["epoch"])}
            else:
                weights = {"source": "final weights", "checkpoint": None, "epoch": trainer.current_epoch - 1}
            self.run_pass(trainer, pl_module, weights)
        finally:
            pl_module.load_state_dict(final)

    def explained_split(self, trainer: L.Trainer) -> str:
        """``val`` or ``test`` (``auto``: test when the datamodule has a non-empty one)."""
        if self.split != "auto":
            return self.split
        splits = getattr(trainer.datamodule, "splits", {}) or {}
        return "test" if len(splits.get("test", [])) else "val"

    def run_pass(self, trainer: L.Trainer, pl_module: L.LightningModule, weights: dict[str, Any]) -> None:
        """Select, intervene on and gather the explained split's images; rank 0 writes."""
        split = self.explained_split(trainer)
        records = split_predictions(pl_module, loader_batches(trainer.datamodule, split), len(pl_module.class_names), "Region importance")
        per_class = 1 if trainer.fast_dev_run else self.per_class
        indices, classes = select_samples(records[:, 0], records[:, 1], records[:, 2], self.target, self.correct_only, per_class, self.seed)
        if not len(indices):
            raise UserError(f"Region importance found no {SPLIT_NAMES[split]} sample to intervene on (empty split): check the data split and its size.")
        truth = {int(index): (int(label), int(prediction)) for index, label, prediction in records}
        rank, world = trainer.global_rank, trainer.world_size
        mine, mine_classes = indices[rank::world], classes[rank::world]
        dataset = trainer.datamodule.dataset(split, augment=False, au_maps=False)
        position = {int(source_index): p for p, source_index in enumerate(dataset.indices)}
        accumulator = RegionImportanceAccumulator(len(self.regions), self.draws)
        skipped: list[int] = []
        bar = tqdm(
            total=len(indices),
            desc=f"region importance ({weights['source']}, {split} split)",
            unit="image",
            disable=not (self.progress and trainer.is_global_zero),
        )
        for start in range(0, len(mine), self.images_per_step):
            items = [dataset[position[int(i)]] for i in mine[start : start + self.images_per_step]]
            landmarks = torch.stack([item["landmarks"] for item in items])
            valid = torch.isfinite(landmarks).flatten(1).all(dim=1)
            targets = torch.as_tensor(mine_classes[start : start + self.images_per_step])
            skipped += targets[~valid].tolist()
            kept = [item for item, ok in zip(items, valid.tolist(), strict=True) if ok]
            if kept:
                images = torch.stack([item["image"] for item in kept]).to(pl_module.device)
                scores = region_importance(
                    pl_module.net, images, landmarks[valid], targets[valid], self.regions, self.draws, self.noise, self.seed, self.batch_size
                )
                index = torch.as_tensor([int(item["index"]) for item in kept])
                known = torch.as_tensor([truth[int(i)] for i in index.tolist()]).reshape(-1, 2)
                accumulator.update(scores, index, targets[valid], known[:, 0], known[:, 1])
            bar.update(len(items) * world)
        bar.close()
        if not accumulator.update_count:  # this rank intervened on nothing: one empty update keeps the gathered shapes equal
            accumulator.update(_empty(self.regions, self.draws), *(torch.zeros(0, dtype=torch.long),) * 4)
        gathered = {name: np.atleast_1d(value.cpu().numpy()) for name, value in accumulator.compute().items()}
        left_out = np.bincount(np.asarray([c for part in gather(skipped) for c in part], dtype=np.int64), minlength=len(pl_module.class_names))
        if trainer.is_global_zero:
            self._write(trainer, pl_module, gathered, weights, split, left_out)

    def _write(
        self, trainer: L.Trainer, pl_module: L.LightningModule, gathered: dict[str, np.ndarray], weights: dict[str, Any], split: str, left_out: np.ndarray
    ) -> None:
        source = trainer.datamodule.source
        index = gathered["index"]
        subjects = getattr(source, "subjects", None)
        paths = getattr(source, "paths", None)
        net = dict(pl_module.hparams.get("net_init") or pl_module.hparams.get("net") or {})
        au_guidance = getattr(pl_module, "au_guidance", None)
        class_names = list(pl_module.class_names)
        manifest = {
            "run": {
                "dir": str(Path(self.output_dir or trainer.default_root_dir).resolve()),
                "model": net.get("name", type(pl_module.net).__name__),
                "pretrained": bool(net.get("pretrained", False)),
                "dataset": getattr(trainer.datamodule, "name", None),
                "fold": getattr(trainer.datamodule, "fold", None),
                "seed": self.seed,
                "au_guidance": float(getattr(au_guidance, "weight", 0.0)),
            },
            "weights": weights,
            "settings": {"families": list(self.families), "draws": self.draws, "noise": self.noise, "imputation": "ROAD noisy linear imputation"},
            "selection": {"split": split, "target": self.target, "correct_only": self.correct_only, "per_class": self.per_class, "seed": self.seed},
            "left_out_no_landmarks": dict(zip(class_names, left_out.tolist(), strict=True)),
            "code_version": code_version(),
        }
        evidence = ImportanceEvidence(
            regions=self.regions,
            classes=class_names,
            subject=np.array(["" if subjects is None or subjects[i] is None else str(subjects[i]) for i in index], dtype=str),
            name=np.array([str(paths[i]) if paths is not None else f"sample {i}" for i in index], dtype=str),
            manifest=manifest,
            **gathered,
        )
        directory = Path(self.output_dir or trainer.default_root_dir) / "importance" / self.name
        self.written = write_importance(directory, evidence)
        if left_out.sum():
            log.warning("Region importance: %d selected images without landmarks left out (per class %s).", left_out.sum(), manifest["left_out_no_landmarks"])
        log.info("region importance of %d images x %d regions written to %s", len(index), len(self.regions), directory)


def _empty(regions: tuple[str, ...], draws: int) -> RegionImportance:
    """The interventions of no image (the empty update of a rank without images)."""
    per_region, per_draw = torch.zeros(0, len(regions), dtype=torch.float64), torch.zeros(0, len(regions), draws, dtype=torch.float64)
    nothing = torch.zeros(0, dtype=torch.float64)
    return RegionImportance(regions, nothing, nothing, per_region, per_region, per_draw, per_draw, per_region.long())
