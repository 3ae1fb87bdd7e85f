"""The declared type of every switch, choice, number and path a user sets in the train,
analyze and prepare configs: Hydra structured configs (dataclasses, registered in Hydra's
ConfigStore as ``ferlens_schema/<entry>``), read by ``jobs.config_check`` before torch loads
and by ``train.py --help``.

A field's type is what the value must be (``bool``, ``int``, ``float``, ``str``, an ``Enum``
of the accepted words, ``Optional`` of one); its ``metadata`` (``setting(...)``) holds the
range, the path kind and the fix named in the one-sentence refusal. Keys a schema does not
declare stay as loose as the yaml (the ``face`` group, the explainers of ``saliency``, which
the explainer registry checks, and analyze's ``statistics`` block beyond its two counts:
its dataclass, ``StatisticsSettings``, lives beside scipy and pandas, which the start-up
check does not import). A key a config does not have (``data.root`` of the synthetic faces,
callbacks left out with ``callbacks=none``) is not checked."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

GROUP = "ferlens_schema"


def setting(
    fix: str,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    path: str | None = None,
    note: str = "",
    also: tuple[int, str] | None = None,
    kind: str | None = None,
    words: tuple[str, ...] = (),
) -> Any:
    """A schema field: ``fix`` completes the refusal ``<key>=<value> <problem>: <fix>.``;
    ``low``/``high`` are inclusive bounds, ``above`` an exclusive lower bound, ``also`` one
    more allowed value and its meaning (``(-1, "for no limit")``); ``path="dir"`` refuses a
    file where a folder belongs (``note`` then says what the folder is); ``kind="switch_or_count"``
    takes true/false or a whole number (Lightning's ``fast_dev_run``); ``words`` are accepted
    beside the type (``trainer.deterministic=warn``)."""
    meta = {"fix": fix, "low": low, "high": high, "above": above, "path": path, "note": note, "also": also, "kind": kind, "words": words}
    return field(default=MISSING, metadata=meta)  # "???": the yaml gives the value


def group(block: type) -> Any:
    """A nested block of settings (its own dataclass)."""
    return field(default_factory=block)


# Enums: the accepted words are the member names (OmegaConf's structured-config enums).
Split = Enum("Split", "kfold official random")
AuMaps = Enum("AuMaps", "eval all")
Accelerator = Enum("Accelerator", "auto cpu gpu cuda mps tpu")
CamMethod = Enum("CamMethod", "gradcam gradcampp layercam")
Codebook = Enum("Codebook", "ours authors")
SaliencyTarget = Enum("SaliencyTarget", "predicted label")
SaliencySplit = Enum("SaliencySplit", "auto test val")
WarpMode = Enum("WarpMode", "nearest bilinear")
Triangulation = Enum("Triangulation", "template face")
ThresholdKind = Enum("ThresholdKind", "otsu fixed topk")
WandbMode = Enum("WandbMode", "online offline disabled")


@dataclass
class DataSchema:
    root: str | None = setting("give the dataset folder, e.g. data.root=/data/RAF-DB", path="dir", note="data.root is the folder that holds the class folders")
    neutral: bool = setting("data.neutral=true adds the Neutral class")
    split: Split = setting("choose kfold (subject-independent folds), official (the dataset's own split) or random (stratified)")
    fold: int | None = setting("give the fold to test on, from 1 to data.num_folds", low=1)
    num_folds: int | None = setting("give the number of subject-independent folds, e.g. data.num_folds=5", low=2)
    split_seed: int = setting("give an integer seed for the split, e.g. data.split_seed=0")
    val_fraction: float = setting("give the share of images for validation, e.g. data.val_fraction=0.1", low=0, high=0.9)
    test_fraction: float = setting("give the share of images for testing, e.g. data.test_fraction=0.1", low=0, high=0.9)
    batch_size: int = setting("give the number of training images per batch, e.g. data.batch_size=64", low=1)
    eval_batch_size: int | None = setting("give the number of validation and test images per batch, e.g. data.eval_batch_size=128", low=1)
    num_workers: int = setting("give the number of DataLoader worker processes, 0 to load in the main process", low=0)
    pin_memory: bool = setting("data.pin_memory=true pins batches for a GPU")
    augment: bool = setting("data.augment=true turns the training augmentation on, false off")
    cache_in_memory: bool = setting("data.cache_in_memory=true keeps the decoded faces in memory")
    au_maps: AuMaps = setting("choose eval (AU maps for validation and test) or all (training too)")


@dataclass
class TrainerSchema:
    accelerator: Accelerator = setting("use trainer=cpu, or trainer.accelerator=auto to take a GPU when there is one")
    max_epochs: int = setting("give the number of epochs, e.g. trainer.max_epochs=12", low=1, also=(-1, "for no limit"))
    check_val_every_n_epoch: int | None = setting("give the epochs between validations, e.g. 1", low=1)
    log_every_n_steps: int | None = setting("give the steps between logged losses, e.g. 10", low=1)
    accumulate_grad_batches: int = setting("give the number of batches whose gradients make one step, e.g. 4", low=1)
    deterministic: bool | None = setting("trainer.deterministic=true asks torch for deterministic kernels (warn: only warns)", words=("warn",))
    enable_model_summary: bool = setting("trainer.enable_model_summary=true prints Lightning's layer table")
    fast_dev_run: Any = setting("give true (one batch per split), false, or a number of batches, e.g. trainer.fast_dev_run=2", low=0, kind="switch_or_count")
    sync_batchnorm: bool = setting("trainer.sync_batchnorm=true synchronises batch norm across GPUs")


@dataclass
class AuGuidanceSchema:
    weight: float = setting("give the weight of the AU guidance loss, 0 for none, e.g. model.au_guidance.weight=0.5", low=0)
    warmup_epochs: int = setting("give the epochs of the weight's linear ramp, 0 for none", low=0)


@dataclass
class AuMetricsSchema:
    cam: CamMethod | None = setting("choose gradcam, gradcampp, layercam, or null for no CAM-COS")
    cam_every_n_epochs: int = setting("give the validation epochs between CAM-COS passes, e.g. 1", low=1)
    cam_max_images: int = setting("give the number of images CAM-COS explains, e.g. 256", low=1)


@dataclass
class OptimizerSchema:
    lr: float | None = setting("give the learning rate, e.g. model.optimizer.lr=1e-4", above=0)
    weight_decay: float | None = setting("give the weight decay, e.g. 0 or 1e-4", low=0)


@dataclass
class ModelSchema:
    au_guidance: AuGuidanceSchema = group(AuGuidanceSchema)
    au_metrics: AuMetricsSchema = group(AuMetricsSchema)
    optimizer: OptimizerSchema = group(OptimizerSchema)


@dataclass
class FaithfulnessSchema:
    steps: int = setting("give the number of deletion and insertion steps, e.g. 20", low=1)
    noise: float = setting("give the ROAD imputation noise in pixel units, e.g. 0.01", low=0)
    batch_size: int = setting("give the number of perturbed images per forward pass, e.g. 64", low=1)


@dataclass
class GlobalSaliencySchema:
    target: SaliencyTarget = setting("choose predicted (the predicted class) or label (the true class)")
    correct_only: bool = setting("callbacks.global_saliency.correct_only=true explains only correctly classified images")
    per_class: int | None = setting("give the most images explained per class, e.g. 100, or null for all", low=1)
    split: SaliencySplit = setting("choose auto (test when the run has one, else val), test or val")
    batch_size: int = setting("give the number of images explained at once, e.g. 16", low=1)
    warp_mode: WarpMode = setting("choose nearest (the study) or bilinear")
    triangulation: Triangulation = setting("choose template (fast) or face (the study's per-face rule)")
    max_skipped_fraction: float = setting("give the largest share of images without landmarks, from 0 to 1, e.g. 0.1", low=0, high=1)
    progress: bool = setting("callbacks.global_saliency.progress=false hides the bar of the explanation pass")
    faithfulness: FaithfulnessSchema | None = group(FaithfulnessSchema)


@dataclass
class CallbacksSchema:
    global_saliency: GlobalSaliencySchema | None = group(GlobalSaliencySchema)


@dataclass
class AuSchema:
    codebook: Codebook = setting("choose ours (corrected) or authors (Study 2's code as it is)")


@dataclass
class TrainSchema:
    """``train.py``'s typed settings."""

    seed: int = setting("give an integer seed, e.g. seed=42")
    train: bool = setting("train=false only validates the initial weights (e.g. those of init_from)")
    test: bool = setting("test=false skips the test split")
    data: DataSchema = group(DataSchema)
    trainer: TrainerSchema = group(TrainerSchema)
    model: ModelSchema = group(ModelSchema)
    callbacks: CallbacksSchema | None = group(CallbacksSchema)
    au: AuSchema = group(AuSchema)


@dataclass
class FiltersSchema:
    """Only its keys: each keeps the listed values (null keeps all)."""

    model: Any = None
    fold: Any = None
    method: Any = None
    dataset: Any = None
    run: Any = None


@dataclass
class ThresholdSchema:
    kind: ThresholdKind = setting("choose otsu (the study), fixed (value = gray level 0..255) or topk (value = percent of pixels)")
    value: float | None = setting("give the fixed gray level (0..255) or the top-k percent", low=0, high=255)


@dataclass
class StatisticsCounts:
    """Two counts of the ``statistics`` block; its other keys are ``StatisticsSettings``'."""

    enabled: bool = setting("statistics.enabled=false writes the study's tables only")
    resamples: int = setting("give the number of bootstrap resamples, e.g. statistics.resamples=2000", low=1)
    permutations: int = setting("give the number of permutations, e.g. statistics.permutations=9999", low=1)


@dataclass
class SourceSchema:
    latest: bool = setting("source.latest=true keeps the newest run per network, method, fold and dataset")


@dataclass
class WandbReportSchema:
    log_report: bool = setting("wandb.log_report=true logs the report to W&B")
    mode: WandbMode | None = setting("choose online, offline or disabled")


@dataclass
class AnalyzeSchema:
    """``analyze.py``'s typed settings."""

    masks: dict[str, Any] = field(
        default_factory=dict,
        metadata={"fix": "name each mask family, e.g. masks.mine=<directory of template masks> (masks.ekman=ekman and masks.au=au are the defaults)"},
    )
    min_count: int = setting("give the fewest images a class heatmap needs, e.g. min_count=1", low=0)
    strict: bool = setting("strict=true stops at the first damaged input")
    progress: bool = setting("progress=false hides the progress bar")
    filters: FiltersSchema = group(FiltersSchema)
    threshold: ThresholdSchema = group(ThresholdSchema)
    statistics: StatisticsCounts = group(StatisticsCounts)
    source: SourceSchema = group(SourceSchema)
    wandb: WandbReportSchema = group(WandbReportSchema)


@dataclass
class PrepareSchema:
    """``python -m datamodules.prepare``'s typed settings (the face group stays its own)."""

    seed: int = setting("give an integer seed, e.g. seed=0")
    data: DataSchema = group(DataSchema)


SCHEMAS: dict[str, type] = {"train": TrainSchema, "analyze": AnalyzeSchema, "prepare": PrepareSchema}


def is_block(kind: Any) -> bool:
    return dataclasses.is_dataclass(kind)


def inner(hint: Any) -> Any:
    """``X | None`` → X."""
    if get_origin(hint) in (Union, UnionType):
        return next(arg for arg in get_args(hint) if arg is not type(None))
    return hint


def optional(hint: Any) -> bool:
    return get_origin(hint) in (Union, UnionType) and type(None) in get_args(hint)


@dataclass(frozen=True)
class Declared:
    """One setting of a schema: its dotted key, type (``X`` of ``X | None``), whether null
    is allowed, and its ``setting`` metadata."""

    key: str
    kind: Any
    nullable: bool
    meta: dict


def declared_settings(schema: type, prefix: str = "") -> list[Declared]:
    """Every setting (leaf) of ``schema``, blocks walked through, in declaration order."""
    hints = get_type_hints(schema)
    found: list[Declared] = []
    for spec in dataclasses.fields(schema):
        kind = inner(hints[spec.name])
        if is_block(kind):
            found += declared_settings(kind, f"{prefix}{spec.name}.")
        else:
            found.append(Declared(f"{prefix}{spec.name}", kind, optional(hints[spec.name]) or kind is Any, dict(spec.metadata)))
    return found


def register_schemas() -> None:
    """Store each entry's schema in Hydra's ConfigStore (``ferlens_schema/train`` ...)."""
    store = ConfigStore.instance()
    for name, schema in SCHEMAS.items():
        store.store(group=GROUP, name=name, node=schema)


def describe(setting: Declared) -> str:
    """``key: type, range`` for ``--help`` (``data.batch_size: whole number, at least 1``)."""
    kind, meta = setting.kind, setting.meta
    if meta.get("kind") == "switch_or_count":
        text = "true/false or a whole number"
    elif kind is bool:
        text = "true/false"
    elif isinstance(kind, type) and issubclass(kind, Enum):
        text = " | ".join(member.name for member in kind)
    else:
        text = {int: "whole number", float: "number", str: "folder" if meta.get("path") == "dir" else "text"}.get(kind, "mapping" if kind is not Any else "any")
    low, high, above, also = meta.get("low"), meta.get("high"), meta.get("above"), meta.get("also")
    if low is not None:
        text += f", at least {low:g}" if high is None else f", {low:g} to {high:g}"
    if above is not None:
        text += f", above {above:g}"
    if also is not None:
        text += f", or {also[0]} {also[1]}"
    for word in meta.get("words", ()):
        text += f" or {word}"
    return f"{setting.key}: {text}{' or null' if setting.nullable and kind is not Any else ''}"


def schema_text(primary: str) -> str:
    """The typed settings of ``primary`` (train, analyze, prepare), one line each."""
    return "\n".join(describe(setting) for setting in declared_settings(SCHEMAS[primary]) if setting.kind is not Any or setting.meta)
