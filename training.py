"""One training job, as ``train.py`` runs it: resolve the network's inputs, instantiate the
data, model, loggers, callbacks and trainer, fit (or resume), test the best checkpoint, print
the summary and mark the run directory completed. Imported only once the config is composed,
so that ``train.py --help`` and ``--cfg job`` never load torch."""

from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from pathlib import Path

import hydra
import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from ferlens.callbacks.checkpoints import best_checkpoint_callback
from ferlens.callbacks.global_saliency import DEBUG_PER_CLASS, GlobalSaliency
from ferlens.evaluation.localisation.quick import score_artifact
from ferlens.formats.heatmap_artifact import read_artifact
from ferlens.jobs.config_resolvers import register_config_resolvers
from ferlens.jobs.console_log import FILE_ONLY
from ferlens.jobs.ddp import ddp_job_scope
from ferlens.jobs.overrides import refuse_unread_additions
from ferlens.jobs.run_directory import completion, damaged_last_checkpoint, last_checkpoint, mark_completed, wandb_run_id
from ferlens.jobs.summary import HeatmapSummary, print_summary
from ferlens.user_errors import UserError, exit_on_user_error

log = logging.getLogger("ferlens.train")


def _instantiate_group(group: DictConfig | None, arguments: dict[str, dict] | None = None) -> list:
    """Instantiate every entry of a config group that is a dict of ``_target_`` configs, the
    entry named ``name`` with the keyword ``arguments[name]`` added."""
    return [
        hydra.utils.instantiate(item, **(arguments or {}).get(name, {})) for name, item in (group or {}).items() if item is not None and "_target_" in item
    ]


def _load_initial_weights(module: L.LightningModule, checkpoint: str) -> None:
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise UserError(f"init_from checkpoint '{path}' does not exist: pass the path of a .ckpt file written by a previous run.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UserError(f"init_from checkpoint '{path}' could not be read safely ({type(error).__name__}): pass a .ckpt file written by ferlens.") from error
    module.load_state_dict(state.get("state_dict", state))
    module.initial_checkpoint = str(path.resolve())
    module.initial_epoch = state.get("epoch") if isinstance(state.get("epoch"), int) else None  # the 0-based epoch the checkpoint ended


def check_accelerator(accelerator: str) -> None:
    """Refuse in one sentence a GPU accelerator on a machine where torch finds none
    (Lightning's MisconfigurationException comes wrapped in Hydra's instantiation error)."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    found = {"gpu": cuda or mps, "cuda": cuda, "mps": mps}.get(accelerator, True)
    if not found:
        raise UserError(
            f"trainer.accelerator={accelerator} but torch finds no {'GPU' if accelerator == 'gpu' else accelerator.upper()} on this machine: "
            "use trainer=cpu (or trainer.accelerator=auto), or check the GPU drivers and that torch is a CUDA build."
        )


def _check_command_line(cfg: DictConfig) -> None:
    """Refuse ``+key=`` additions that nothing reads (``jobs.overrides``)."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        refuse_unread_additions(list(hydra_cfg.overrides.task), cfg, set(hydra_cfg.runtime.choices))


def _instantiate_loggers(cfg: DictConfig) -> list:
    """The ``logger`` group's loggers. The W&B logger gets the run directory's one W&B id
    (``resume="allow"``), so that a resumed run continues its W&B run instead of starting a
    second one. Only rank 0 logs to W&B, so only rank 0 makes the id (ranks started together
    by SLURM would race)."""
    logger = cfg.get("logger") or {}
    same_run = {"id": wandb_run_id(cfg.paths.output_dir), "resume": "allow"} if logger.get("wandb") is not None and rank_zero_only.rank == 0 else None
    return _instantiate_group(logger, {"wandb": same_run} if same_run else None)


def headline(cfg: DictConfig, module: L.LightningModule) -> str:
    """The run in one line: network (parameters, input side, normalization), data and
    split, schedule, seed, explainers, AU guidance, output directory."""
    parameters = sum(parameter.numel() for parameter in module.parameters())
    inputs = module.net.data_config
    size = f"{parameters / 1e6:.1f} M" if parameters >= 1e6 else f"{parameters / 1e3:.0f} K"
    split = f"fold {cfg.data.fold}/{cfg.data.num_folds}" if cfg.data.get("split") == "kfold" else f"{cfg.data.get('split')} split"
    saliency = ", ".join(cfg.get("saliency") or {}) or "none"
    weight = cfg.model.au_guidance.weight if cfg.model.get("au_guidance") else 0
    guidance = f"AU guidance weight {weight:g}" if weight else "no AU guidance"
    debug = cfg.trainer.get("fast_dev_run")
    if debug:
        batches = "1 batch" if debug is True or debug == 1 else f"{debug} batches"
        heatmaps = f"heatmaps of {DEBUG_PER_CLASS} image per class, marked so that analyze.py leaves them out"
        schedule = f"DEBUG RUN (trainer.fast_dev_run: {batches} per split, {heatmaps})"
    elif cfg.train:
        schedule = f"{cfg.trainer.max_epochs} epochs, batch {cfg.data.batch_size}"
    else:
        schedule = "no training (train=false)"
    return (
        f"ferlens: {network_name(cfg)} ({size} parameters, {inputs.input_size} px, {inputs.normalization}) on {cfg.data.name} {split}; "
        f"{schedule}; seed {cfg.seed}; heatmaps: {saliency}; {guidance}; output {cfg.paths.output_dir}"
    )


def network_name(cfg: DictConfig) -> str:
    """The network's registry name, or the ``_target_`` of a user's own network."""
    return str(cfg.model.net.get("name") or cfg.model.net.get("_target_"))


def _log_interval(trainer: L.Trainer, batches: int) -> int:
    """``Trainer.log_every_n_steps``, lowered to the training batches per epoch and rank when
    an epoch has fewer, so that every epoch logs its step loss (Lightning warns otherwise)."""
    limit = trainer.limit_train_batches
    per_rank = math.ceil(batches / trainer.world_size)
    per_epoch = min(per_rank, limit) if isinstance(limit, int) else max(1, int(per_rank * limit))
    return max(1, min(trainer.log_every_n_steps, per_epoch))


def run(cfg: DictConfig) -> dict[str, float]:
    """One training job. Returns the final metrics (best validation, test). A job whose
    directory holds ``completed.json`` is skipped; one holding ``checkpoints/last.ckpt``
    resumes from it."""
    started = time.perf_counter()
    _check_command_line(cfg)
    check_accelerator(str(cfg.trainer.get("accelerator", "auto")))
    finished = completion(cfg.paths.output_dir)
    if finished is not None:
        log.info("Already finished on %s (%s/completed.json): skipped; delete that file to run the job again.", finished["finished"], cfg.paths.output_dir)
        return finished.get("metrics", {})
    resume_from = last_checkpoint(cfg.paths.output_dir) if cfg.train else None
    if resume_from is not None and (damaged := damaged_last_checkpoint(cfg.paths.output_dir)):
        raise UserError(damaged)  # a relaunched multirun job whose last.ckpt was cut short
    if resume_from is not None:
        log.info("Resuming from %s", resume_from)
    L.seed_everything(cfg.seed, workers=True)
    datamodule = hydra.utils.instantiate(cfg.data)
    module = hydra.utils.instantiate(cfg.model, num_classes=datamodule.num_classes, class_names=datamodule.class_names, _convert_="all")
    if cfg.init_from:
        _load_initial_weights(module, cfg.init_from)
    loggers = _instantiate_loggers(cfg)
    callbacks = [c for c in _instantiate_group(cfg.get("callbacks")) if loggers or not isinstance(c, LearningRateMonitor)]
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    if trainer.is_global_zero:
        log.info(headline(cfg, module))
    datamodule.setup("fit")  # logs the data summary
    trainer.log_every_n_steps = _log_interval(trainer, len(datamodule.train_dataloader()))
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    if cfg.train:
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from)
    else:
        trainer.validate(module, datamodule=datamodule, verbose=False)
    results = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
    checkpoint = best_checkpoint_callback(trainer)
    best = checkpoint.best_model_path if checkpoint is not None and checkpoint.best_model_path else None
    if cfg.test:
        trainer.test(module, datamodule=datamodule, ckpt_path=best, verbose=False)  # the end summary shows the results
        results.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")})
    if best:
        results["best_val_acc"] = float(checkpoint.best_model_score)
    _finish(cfg, loggers, trainer, best, results, time.perf_counter() - started)
    if trainer.is_global_zero:
        mark_completed(cfg.paths.output_dir, results)
    return results


def _heatmap_summaries(trainer: L.Trainer) -> list[HeatmapSummary]:
    """The artifacts GlobalSaliency wrote in this run, scored against the Ekman and AU masks."""
    summaries = []
    for callback in trainer.callbacks:
        if isinstance(callback, GlobalSaliency):
            for key, directories in callback.written.items():
                for directory in directories:
                    artifact = read_artifact(directory)
                    summaries.append(HeatmapSummary(key, directory, artifact.manifest, score_artifact(directory), directory / "overview.png"))
    return summaries


@rank_zero_only
def _finish(cfg: DictConfig, loggers: list, trainer: L.Trainer, best: str | None, results: dict[str, float], seconds: float) -> None:
    places = {"output directory": cfg.paths.output_dir, "log": f"{cfg.paths.output_dir}/train.log"}
    if cfg.train:
        nothing = "none (trainer.fast_dev_run saves no checkpoint)" if trainer.fast_dev_run else "none (no checkpoint callback)"
        places["best checkpoint"] = best or nothing
    else:  # explain= / train=false: no training, so no checkpoint of its own; the weights it used
        places["weights"] = cfg.init_from or "the network's initial weights (train=false, no init_from)"
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            run = logger.experiment
            sync = " (offline: upload it with `wandb sync <that directory>`)" if run.settings.mode == "offline" else ""
            places["W&B run"] = f"{Path(run.dir).parent}{sync}"  # the run directory, not its files/
            run.finish()
        else:
            places[f"metrics ({type(logger).__name__.removesuffix('Logger')})"] = logger.log_dir
    title = f"{network_name(cfg)} on {cfg.data.name}, fold {cfg.data.fold}"
    validated = "last epoch" if cfg.train else "given weights"
    tested = "best checkpoint" if best else ("final weights" if cfg.train else "given weights")
    print_summary(title, results, places, seconds, _heatmap_summaries(trainer), logging.getLogger(FILE_ONLY), tested, validated)


def _route_library_output() -> None:
    """Lightning's package adds its own stderr handler on import, so each of its lines came
    twice (``INFO: ...`` and Hydra's): drop it; the job's logging config routes Lightning's
    lines (the log file; the console from WARNING). Python warnings go through logging, so
    ``train.log`` keeps them. Lightning 2.6 builds a torch ``LeafSpec`` for every dataloader,
    which torch 2.14 deprecates: that one warning, about the pinned libraries and not the
    run, is ignored."""
    logging.getLogger("lightning").removeHandler(getattr(L, "_console", None))
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)


def job(cfg: DictConfig) -> float | None:
    """``run`` as a process: under the DDP job scope, SIGTERM exits 143 (resumable, the
    resume command already logged), a user mistake exits with its one sentence. Returns the
    best validation accuracy (the value a Hydra sweeper optimises)."""
    _route_library_output()
    register_config_resolvers()  # again in a launcher's worker process
    with ddp_job_scope(), exit_on_user_error():
        try:
            results = run(cfg)
        except SIGTERMException:
            sys.exit(143)  # terminated (128 + SIGTERM), resumable: ResumeState logged how
    return results.get("best_val_acc")
