"""GlobalSaliency: one global heatmap per expression, from the weights the user is told about.

When: by default once, after fit, for the **best checkpoint** (the weights ``trainer.test``
uses), on the validation split; with ``epochs=[...]`` at the end of those validation epochs
instead, each into ``heatmaps/<key>/epoch=N/``; and at the end of ``trainer.validate`` (the
weights given, e.g. ``init_from=``).

How: every rank predicts its share of the validation samples; the records of all ranks are
gathered, the same selection is made on every rank (target = predicted class or label,
optionally only correct predictions, at most N per class drawn with the run's seed), each
selected sample is explained by exactly one rank, warped into the template with its
landmarks and summed per class in a torchmetrics ``Metric`` (summed across ranks). Rank 0
writes the artifact (``formats/heatmap_artifact.py``) with the exact weights in its manifest
and logs it to W&B. The result does not depend on the number of processes. A pass whose
selected samples mostly lack landmarks stops with one sentence instead of writing an
all-zero artifact.
"""

from __future__ import annotations

import copy
import logging
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import WandbLogger
from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from ferlens.callbacks.checkpoints import best_checkpoint_callback
from ferlens.callbacks.evidence_accumulator import ImageEvidenceAccumulator
from ferlens.callbacks.heatmap_accumulator import GlobalHeatmapAccumulator
from ferlens.callbacks.progress import step_aside
from ferlens.callbacks.protocol import (
    LANDMARKS_HOW,
    ExplainedDataset,
    check_item,
    class_names_of,
    explained_model,
    has_test_split,
    is_ferlens_datamodule,
    split_dataset,
)
from ferlens.callbacks.sanity import FaithfulnessSettings, RandomisationSettings, SanityPass, randomisation_chosen, write_randomisation_figure
from ferlens.callbacks.selection import SPLIT_NAMES, SPLITS, gather, loader_batches, select_samples, split_predictions
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH
from ferlens.faces.warp import TemplateWarper
from ferlens.formats.evidence import ImageEvidence, evidence_from_maps
from ferlens.formats.heatmap_artifact import ARTIFACT_TYPE, read_manifest, write_artifact
from ferlens.formats.manifest import HeatmapManifest, RunInfo, SaliencyInfo, SelectionInfo, WarpInfo, WeightsInfo
from ferlens.formats.template_figure import heatmap_figure
from ferlens.jobs.run_directory import DEBUG_RUN
from ferlens.saliency import build_explainer
from ferlens.user_errors import UserError

log = logging.getLogger(__name__)


#: Images per class a debug run (``trainer.fast_dev_run``) explains: a handful, to test the pass.
DEBUG_PER_CLASS = 1


def code_version() -> str:
    """The git commit of this checkout, or 'unknown'."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class GlobalSaliency(L.Callback):
    """Per-expression global heatmaps of each configured saliency method.

    Args:
        methods: ``{key: {"name": <method>, **params}}`` (the ``saliency`` config).
        epochs: None (default) = once after fit, for the best checkpoint; or validation
            epochs (0-based) to run on, each written to ``heatmaps/<key>/epoch=N/``.
        target: ``predicted`` class (the study) or the true class ``label``.
        correct_only: only correctly classified samples.
        per_class: at most this many samples per class (None: all).
        seed: selection seed (the run's seed).
        split: the samples explained: ``auto`` (the default: the test split when the run has
            one, the held-out fold of the study's protocol, else the validation split), ``test``
            or ``val`` (the split that chose the checkpoint).
        batch_size: samples explained at once.
        warp_mode: ``nearest`` (the study) or ``bilinear``.
        triangulation: ``template`` (fast) or ``face`` (the study's per-face rule).
        max_skipped_fraction: stop (one sentence) when more than this share of the selected
            samples cannot be warped (no landmarks); all skipped always stops.
        progress: show a progress bar for the explanation pass.
        output_dir: where ``heatmaps/<key>/`` goes (default: the trainer's root dir).
        faithfulness: deletion / insertion and ROAD of every explained image
            (``callbacks.sanity.FaithfulnessSettings``); None: off.
        randomisation: the model-parameter randomisation check (``+sanity=mprt``,
            ``callbacks.sanity.RandomisationSettings``); None: off.
        class_names: the classes in label order, for a project whose module and datamodule
            have no ``class_names`` (``callbacks.protocol``).

    Any LightningModule and LightningDataModule following ``callbacks.protocol`` work, not only
    ferlens' own: items with ``image``, ``label`` and 68 ``landmarks``, a module returning logits.
    """

    def __init__(
        self,
        methods: dict[str, dict[str, Any]],
        epochs: list[int] | None = None,
        target: str = "predicted",
        correct_only: bool = False,
        per_class: int | None = 100,
        seed: int = 0,
        split: str = "auto",
        batch_size: int = 16,
        warp_mode: str = "nearest",
        triangulation: str = "template",
        max_skipped_fraction: float = 0.1,
        progress: bool = True,
        output_dir: str | None = None,
        faithfulness: dict[str, Any] | None = None,
        randomisation: dict[str, Any] | None = None,
        class_names: list[str] | None = None,
    ) -> None:
        if target not in ("predicted", "label"):
            raise UserError(f"Unknown saliency target '{target}': use predicted (the predicted class) or label (the true class).")
        if split not in SPLITS:
            raise UserError(f"Unknown saliency split '{split}': use auto (test when the run has one, else val), test or val.")
        if not methods:
            raise UserError("GlobalSaliency has no saliency method: add one, e.g. saliency=[gradcampp], or drop the callback with callbacks=default.")
        self.explainers = {key: build_explainer(**dict(spec)) for key, spec in methods.items()}
        self.epochs = None if epochs is None else sorted(set(epochs))
        self.target = target
        self.correct_only = correct_only
        self.per_class = per_class
        self.seed = seed
        self.split = split
        self.batch_size = batch_size
        self.warp_mode = warp_mode
        self.triangulation = triangulation
        self.max_skipped_fraction = max_skipped_fraction
        self.progress = progress
        self.output_dir = output_dir
        self.faithfulness = FaithfulnessSettings(**faithfulness) if faithfulness is not None else None
        self.randomisation = RandomisationSettings(**randomisation) if randomisation is not None else None
        self.class_names = class_names
        #: artifact directories written by this run, ``{key: [directory, ...]}`` (rank 0)
        self.written: dict[str, list[Path]] = {}
        self._explained_epochs: set[int] = set()
        #: when the run started (ISO 8601, UTC, seconds): set at the first setup, restored on resume
        self.started: str | None = None

    # --- when -----------------------------------------------------------------------------

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Take the run's start time once; a resumed run's checkpoint restores the original."""
        if self.started is None:
            self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def state_dict(self) -> dict[str, Any]:
        """The epochs already explained, so that a resumed run neither repeats nor misses them,
        and the run's start time, so that its manifests keep naming the original start."""
        return {"explained_epochs": sorted(self._explained_epochs), "started": self.started}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._explained_epochs = set(state_dict.get("explained_epochs", []))
        self.started = state_dict.get("started") or self.started

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        if trainer.state.fn == "validate":
            step_aside(trainer)  # validation is over: its bar stays as drawn, the heatmap pass prints below it
            checkpoint = getattr(pl_module, "initial_checkpoint", None)
            epoch = getattr(pl_module, "initial_epoch", None)  # the checkpoint's own epoch (explain=, init_from=); untrained weights: 0
            epoch = trainer.current_epoch if epoch is None else epoch
            weights = WeightsInfo(source="given weights", checkpoint=checkpoint, epoch=epoch, val_acc=_metric(trainer, "val/acc"))
            self.explain(trainer, pl_module, weights, subdirectory=None)
        elif self.epochs is not None and trainer.current_epoch in self.epochs:
            weights = WeightsInfo(source=f"epoch {trainer.current_epoch}", epoch=trainer.current_epoch, val_acc=_metric(trainer, "val/acc"))
            self.explain(trainer, pl_module, weights, subdirectory=f"epoch={trainer.current_epoch}")
            self._explained_epochs.add(trainer.current_epoch)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.epochs is not None:
            missed = [e for e in self.epochs if e not in self._explained_epochs]
            if missed and trainer.is_global_zero:
                log.warning("GlobalSaliency: epochs %s ran no validation (training stopped early or validation was skipped): no heatmaps for them.", missed)
            return
        step_aside(trainer)  # the last epoch's bar is drawn once, the heatmap pass prints below it
        checkpoint = best_checkpoint_callback(trainer)
        best = checkpoint.best_model_path if checkpoint is not None else ""
        final = copy.deepcopy(pl_module.state_dict())
        pl_module.to(trainer.strategy.root_device)  # fit's teardown moved it to the CPU
        try:
            if best:
                state = torch.load(best, map_location=pl_module.device, weights_only=True)
                pl_module.load_state_dict(state["state_dict"])
                weights = WeightsInfo(
                    source="best checkpoint", checkpoint=str(Path(best).resolve()), epoch=int(state["epoch"]), val_acc=_number(checkpoint.best_model_score)
                )
            else:
                if trainer.is_global_zero:
                    log.warning("GlobalSaliency: no best checkpoint (no ModelCheckpoint monitoring a metric): explaining the final weights.")
                weights = WeightsInfo(source="final weights", epoch=trainer.current_epoch - 1, val_acc=_metric(trainer, "val/acc"))
            self.explain(trainer, pl_module, weights, subdirectory=None)
        finally:
            pl_module.load_state_dict(final)

    # --- how ------------------------------------------------------------------------------

    def selected_per_class(self, trainer: L.Trainer) -> int | None:
        """``per_class``, or ``DEBUG_PER_CLASS`` in a debug run (``trainer.fast_dev_run``)."""
        if trainer.fast_dev_run:
            return DEBUG_PER_CLASS if self.per_class is None else min(self.per_class, DEBUG_PER_CLASS)
        return self.per_class

    def explained_split(self, trainer: L.Trainer) -> str:
        """``val`` or ``test``: the split explained (``auto``: test when the datamodule has a non-empty one)."""
        if self.split != "auto":
            return self.split
        if not is_ferlens_datamodule(trainer.datamodule):
            return "test" if has_test_split(trainer.datamodule) else "val"
        splits = getattr(trainer.datamodule, "splits", {}) or {}
        return "test" if len(splits.get("test", [])) else "val"

    def _predictions(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str, dataset: ExplainedDataset, classes: int) -> np.ndarray:
        """[N, 3] (sample index, label, predicted class) of every sample of ``split``, all ranks:
        ferlens' datamodule through its loaders (each rank its share, none padded), any other
        through the split's dataset (sample index = position; rank r takes positions r, r + world...)."""
        if is_ferlens_datamodule(trainer.datamodule):
            batches = loader_batches(trainer.datamodule, split)
        else:
            batches = _dataset_batches(dataset, split, trainer.global_rank, trainer.world_size, self.batch_size)
        return split_predictions(pl_module, batches, classes, "GlobalSaliency")

    def explain(self, trainer: L.Trainer, pl_module: L.LightningModule, weights: WeightsInfo, subdirectory: str | None) -> None:
        """Select, explain, warp and accumulate the explained split's samples with every
        method (and their sanity checks), then write one artifact per method
        (``heatmaps/<key>[/<subdirectory>]``)."""
        split = self.explained_split(trainer)
        dataset = split_dataset(trainer.datamodule, split)
        class_names = class_names_of(pl_module, trainer.datamodule, self.class_names)
        if len(dataset):
            check_item(dataset[0], split)
        model = explained_model(pl_module)
        records = self._predictions(trainer, pl_module, split, dataset, len(class_names))
        per_class = self.selected_per_class(trainer)
        indices, classes = select_samples(records[:, 0], records[:, 1], records[:, 2], self.target, self.correct_only, per_class, self.seed)
        truth = {int(index): (int(label), int(prediction)) for index, label, prediction in records}
        rank, world = trainer.global_rank, trainer.world_size
        mine_indices, mine_classes = indices[rank::world], classes[rank::world]
        mine_truth = torch.as_tensor([truth[int(i)] for i in mine_indices], dtype=torch.long).reshape(-1, 2)
        randomised = self.randomisation.per_class if self.randomisation else 0
        mine_randomised = torch.as_tensor(randomisation_chosen(classes, randomised)[rank::world])
        source_indices = getattr(dataset, "indices", None) if is_ferlens_datamodule(trainer.datamodule) else None
        position = {int(source_index): p for p, source_index in enumerate(range(len(dataset)) if source_indices is None else source_indices)}
        warper = TemplateWarper(pl_module.device, self.triangulation)
        for number, (key, explainer) in enumerate(self.explainers.items(), start=1):
            accumulator = GlobalHeatmapAccumulator(len(class_names)).to(pl_module.device)
            evidence = ImageEvidenceAccumulator().to(pl_module.device)
            if not len(mine_indices):  # this rank explains nothing: one empty update keeps the gathered shapes equal
                nothing = torch.zeros(0, dtype=torch.long)
                evidence.update(torch.zeros(0, TEMPLATE_HEIGHT, TEMPLATE_WIDTH, device=pl_module.device), nothing, nothing, nothing, nothing, nothing.bool())
            sample = dataset[0]["image"] if self.randomisation and len(dataset) else None  # finds the layers to randomise
            sanity = SanityPass(len(class_names), self.faithfulness, self.randomisation, model, sample, pl_module.device)
            skipped_here: list[int] = []
            shown = self.progress and trainer.is_global_zero
            bar = tqdm(total=len(indices), desc=f"heatmaps {key} ({weights.source}, {split} split)", unit="image", disable=not shown)
            started = time.perf_counter()
            for start in range(0, len(mine_indices), self.batch_size):
                chunk = mine_indices[start : start + self.batch_size]
                items = [dataset[position[int(i)]] for i in chunk]
                images = torch.stack([torch.as_tensor(item["image"]) for item in items]).to(pl_module.device)
                landmarks = torch.stack([torch.as_tensor(item["landmarks"], dtype=torch.float32) for item in items])
                targets = torch.as_tensor(mine_classes[start : start + self.batch_size], device=pl_module.device)
                valid = torch.isfinite(landmarks).flatten(1).all(dim=1)
                skipped_here += [int(index) for index, ok in zip(chunk, valid.tolist(), strict=True) if not ok]
                raw = explainer(model, images, targets)  # [B, H, W] in image pixels
                sanity.update(model, explainer, images, raw, targets, mine_randomised[start : start + self.batch_size])
                maps = warper.to_template(raw, landmarks, self.warp_mode)
                accumulator.update(maps, targets, valid)
                known = mine_truth[start : start + self.batch_size]
                evidence.update(maps, torch.as_tensor(chunk, dtype=torch.long), targets, known[:, 0], known[:, 1], valid)
                bar.update(len(items) * world)
                if start == 0 and trainer.is_global_zero:
                    with logging_redirect_tqdm():  # above the bar, not through it
                        log.info("%s", expected_cost(key, (time.perf_counter() - started) / len(items), len(indices), world, number, len(self.explainers)))
            bar.close()
            means, counts, zero_maps = accumulator.compute()  # all ranks take part (sum across ranks)
            gathered = [np.atleast_1d(part.cpu().numpy()) for part in evidence.compute()]  # all ranks (concatenated); one image: torchmetrics squeezes to 0-d
            checks = sanity.results(class_names)  # all ranks take part (sums across ranks)
            skipped_indices = sorted(i for part in gather(skipped_here) for i in part)
            self._check_skipped(trainer, len(indices), skipped_indices, key, split)
            if trainer.is_global_zero:
                directory = Path(self.output_dir or trainer.default_root_dir) / "heatmaps" / key
                directory = directory / subdirectory if subdirectory else directory
                found = self._evidence(trainer, *gathered)
                means_np, counts_list = means.cpu().numpy(), counts.tolist()
                explained = {"split": split, "evidence": found, "checks": checks}
                explained["class_names"], explained["input_size"] = class_names, int(torch.as_tensor(dataset[0]["image"]).shape[-1])
                self._publish(trainer, pl_module, directory, key, explainer, weights, means_np, counts_list, zero_maps.tolist(), skipped_indices, explained)

    @staticmethod
    def _evidence(trainer: L.Trainer, maps: np.ndarray, index: np.ndarray, target: np.ndarray, label: np.ndarray, prediction: np.ndarray) -> ImageEvidence:
        """The gathered per-image maps with each image's subject and name from the data source."""
        subjects = getattr(getattr(trainer.datamodule, "source", None), "subjects", None)
        subject = ["" if subjects is None or subjects[i] is None else str(subjects[i]) for i in index]
        return evidence_from_maps(maps, index, target, label, prediction, subject, _name_list(trainer, index.tolist()))

    def _run_dir(self, trainer: L.Trainer) -> Path:
        """The run's output directory (absolute), which holds ``heatmaps/``."""
        return Path(self.output_dir or trainer.default_root_dir).resolve()

    def _check_skipped(self, trainer: L.Trainer, selected: int, skipped: list[int], key: str, split: str) -> None:
        """Stop (one sentence) when nothing was selected, or too many selected samples lack landmarks."""
        name = SPLIT_NAMES[split]
        if selected == 0:
            raise UserError(f"GlobalSaliency found no {name} sample to explain (empty {name} split): check the data split and its size.")
        if len(skipped) < selected and len(skipped) <= self.max_skipped_fraction * selected:
            if skipped and trainer.is_global_zero:
                log.warning("GlobalSaliency %s: %d of %d selected samples lack landmarks, skipped: %s", key, len(skipped), selected, _names(trainer, skipped))
            return
        raise UserError(
            f"GlobalSaliency cannot warp {len(skipped)} of the {selected} selected {name} images into the template because they have no landmarks "
            f"(e.g. {_names(trainer, skipped[:3])}), above max_skipped_fraction={self.max_skipped_fraction:g}: use a dataset with landmarks "
            "(the synthetic faces, face preparation with dlib landmarks, or in your own project: "
            f"{LANDMARKS_HOW}), or drop the callback with callbacks=default; the checkpoints were kept."
        )

    def _publish(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        directory: Path,
        key: str,
        explainer: Any,
        weights: WeightsInfo,
        means: np.ndarray,
        counts: list[int],
        zero_maps: list[int],
        skipped: list[int],
        explained: dict[str, Any],
    ) -> None:
        """Write and log the artifact; ``explained`` holds the ``split``, the per-image
        ``evidence`` and the sanity ``checks`` (manifest entries)."""
        evidence: ImageEvidence = explained["evidence"]
        hparams = pl_module.hparams
        net = dict(hparams.get("net_init") or hparams.get("net") or {})
        datamodule = trainer.datamodule
        wandb_run = next((logger.experiment for logger in trainer.loggers if isinstance(logger, WandbLogger)), None)
        model = explained_model(pl_module)
        data_config = getattr(model, "data_config", None)  # None: a network of someone else's project, which normalizes its input its own way
        au_guidance = getattr(pl_module, "au_guidance", None)
        class_names = explained["class_names"]
        manifest = HeatmapManifest(
            run=RunInfo(
                id=getattr(wandb_run, "id", None),
                name=getattr(wandb_run, "name", None),
                sweep=getattr(wandb_run, "sweep_id", None),  # set when a W&B agent started the run
                dir=str(self._run_dir(trainer)),  # the run's identity without W&B: its directory and start
                started=self.started,
                model=net.get("name") or net.get("_target_") or type(model).__name__,
                pretrained=bool(net.get("pretrained", False)),
                dataset=getattr(datamodule, "name", None),
                fold=getattr(datamodule, "fold", None),
                seed=self.seed,
                epoch=weights.epoch,
                input_size=data_config.input_size if data_config else explained["input_size"],
                normalization=data_config.normalization if data_config else None,
                mean=tuple(data_config.mean) if data_config else None,
                std=tuple(data_config.std) if data_config else None,
                au_guidance=float(getattr(au_guidance, "weight", 0.0)),
                au_layers=tuple(au_guidance.layers) if getattr(au_guidance, "layers", None) else None,
            ),
            weights=weights,
            saliency=SaliencyInfo(key=key, method=explainer.name, params={k: v for k, v in vars(explainer).items() if isinstance(v, int | float | str | bool)}),
            selection=SelectionInfo(
                split=explained["split"], target=self.target, correct_only=self.correct_only, per_class=self.selected_per_class(trainer), seed=self.seed
            ),
            warp=WarpInfo(mode=self.warp_mode, triangulation=self.triangulation),
            skipped_no_landmarks=len(skipped),
            face_preparation=getattr(datamodule, "face_preparation", None),  # per class: images, prepared, dropped (real datasets)
            skipped_samples=tuple(_name_list(trainer, skipped)),
            code_version=code_version(),
            zero_maps=dict(zip(class_names, zero_maps, strict=True)),
            correct_share=correct_shares(evidence, class_names),
            **explained["checks"],
        )
        if sum(zero_maps):
            log.warning("GlobalSaliency %s: %d of %d maps are zero everywhere (no evidence): %s", key, sum(zero_maps), sum(counts), manifest.zero_maps)
        write_artifact(directory, means, counts, class_names, manifest, evidence)
        if trainer.fast_dev_run:  # marked: analyze.py leaves it out unless its run is named (analysis/sources/local.py)
            (directory / DEBUG_RUN).write_text(
                f"trainer.fast_dev_run={trainer.fast_dev_run}: a debug run ({DEBUG_PER_CLASS} image per class), not a result; "
                "analyze.py leaves it out unless this run directory is named in source.paths.\n"
            )
        title = f"{manifest.run.model} {key}, {weights.source} (epoch {weights.epoch + 1}), {explained['split']} split"  # counted from 1
        figure = heatmap_figure(means, class_names, counts, title)
        figure.savefig(directory / "overview.png", dpi=120)
        if manifest.randomisation is not None:
            write_randomisation_figure(directory, manifest.randomisation, f"{manifest.run.model} {key}, {explained['split']} split")
        self.written.setdefault(key, []).append(directory)
        log.info("global %s heatmaps of the %s (counts %s, %d skipped) written to %s", key, weights.source, counts, len(skipped), directory)
        if wandb_run is not None:
            import wandb

            name = f"heatmaps-{wandb_run.id}-{key}" + (f"-{directory.name}" if directory.name != key else "")
            artifact = wandb.Artifact(name.replace("=", "-"), type=ARTIFACT_TYPE, metadata=read_manifest(directory).to_dict())  # the manifest as written
            for path in sorted(p for p in directory.rglob("*") if p.is_file()):  # add_dir prints a progress line of its own
                artifact.add_file(str(path), name=path.relative_to(directory).as_posix())
            wandb_run.log_artifact(artifact)
            wandb_run.log({f"heatmaps/{key}": wandb.Image(figure)})


def expected_cost(key: str, seconds_per_image: float, images: int, world: int, number: int, methods: int) -> str:
    """The announcement of a method's pass after its first batch: the seconds per image it
    took (sanity checks included) and the time its ``images`` (split over ``world`` ranks)
    will take; for the first of several methods, also images x methods at that rate."""
    alone = seconds_per_image * images / world
    rate = f"{seconds_per_image:.2f} s per image on the first batch"
    text = f"heatmaps {key} (method {number} of {methods}): {rate}, about {_duration(alone)} for {images} images"
    if number == 1 and methods > 1:
        text += f"; {images} images x {methods} methods: about {_duration(alone * methods)} if the others cost the same"
    return text


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else (f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h")


def correct_shares(evidence: ImageEvidence, class_names: list[str]) -> dict[str, float | None]:
    """Per class: the share of the images in its heatmap that the network classified
    correctly (prediction = true label); None for a class without images."""
    shares: dict[str, float | None] = {}
    for c, name in enumerate(class_names):
        chosen = evidence.target == c
        shares[name] = float(np.mean(evidence.label[chosen] == evidence.prediction[chosen])) if chosen.any() else None
    return shares


def _dataset_batches(dataset: ExplainedDataset, split: str, rank: int, world: int, size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(positions, labels, images) in batches of ``size``: this rank's share of ``dataset`` (positions rank, rank + world, ...)."""
    mine = list(range(rank, len(dataset), world))
    for start in range(0, len(mine), size):
        chunk = mine[start : start + size]
        items = [dataset[p] for p in chunk]
        for item in items:
            check_item(item, split)
        images = torch.stack([torch.as_tensor(item["image"]) for item in items])
        yield torch.as_tensor(chunk, dtype=torch.long), torch.as_tensor([int(item["label"]) for item in items], dtype=torch.long), images


def _metric(trainer: L.Trainer, name: str) -> float | None:
    return _number(trainer.callback_metrics.get(name))


def _number(value: torch.Tensor | float | None) -> float | None:
    return None if value is None else float(value)


def _name_list(trainer: L.Trainer, indices: list[int]) -> list[str]:
    """Readable names of source samples: file names where the source has paths, else 'sample <index>'."""
    paths = getattr(getattr(trainer.datamodule, "source", None), "paths", None)
    return [str(paths[i]) if paths is not None else f"sample {i}" for i in indices]


def _names(trainer: L.Trainer, indices: list[int]) -> str:
    """``_name_list`` as one comma-separated text, for messages."""
    return ", ".join(_name_list(trainer, indices))
