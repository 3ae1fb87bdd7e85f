"""Train a FER network: compose the config, instantiate, fit, test, summarise.

python train.py                                  # small CNN on the embedded synthetic faces
python train.py model=X data.fold=2 trainer.max_epochs=3
python train.py trainer=ddp trainer.devices=2    # multi-process DDP
python train.py resume=last                      # continue the newest interrupted run
python train.py explain=<run dir> saliency=[lime] # heatmaps of a trained run, no training
python train.py --cfg job                        # print the composed config
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hydra
import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from analysis.quick import score_artifact
from callbacks.checkpoints import best_checkpoint_callback
from callbacks.global_saliency import GlobalSaliency
from formats.heatmap_artifact import read_artifact
from jobs.explain import explain_arguments
from jobs.overrides import refuse_unread_additions
from jobs.resume import resume_arguments
from jobs.run_directory import completion, last_checkpoint, mark_completed, wandb_run_id
from lightning_modules.ddp import ddp_job_scope
from lightning_modules.networks import resolve_data_config
from lightning_modules.summary import HeatmapSummary, print_summary
from user_errors import UserError, user_message

log = logging.getLogger("ferlens.train")


def _instantiate_group(group: DictConfig | None) -> list:
    """Instantiate every entry of a config group that is a dict of ``_target_`` configs."""
    return [hydra.utils.instantiate(item) for item in (group or {}).values() if item is not None and "_target_" in item]


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


def resolve_model_inputs(cfg: DictConfig) -> None:
    """Fill ``model.input_size`` and ``model.normalization`` with the network's own values
    where the config leaves them null (the network's data config is the one source of truth;
    the data config reads them through ``${model.input_size}``)."""
    net = OmegaConf.to_container(cfg.model.net, resolve=True)
    extra = {key: value for key, value in net.items() if key not in ("name", "pretrained", "weights")}
    data_config = resolve_data_config(net["name"], input_size=cfg.model.input_size, normalization=cfg.model.normalization, **extra)
    OmegaConf.update(cfg, "model.input_size", data_config.input_size)
    OmegaConf.update(cfg, "model.normalization", data_config.normalization)


def _check_command_line(cfg: DictConfig) -> None:
    """Refuse ``+key=`` additions that nothing reads (``jobs.overrides``)."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        refuse_unread_additions(list(hydra_cfg.overrides.task), cfg, set(hydra_cfg.runtime.choices))


def _use_run_wandb_id(cfg: DictConfig) -> None:
    """Give the W&B logger the run directory's one W&B id (``resume="allow"``), so that a
    resumed run continues its W&B run instead of starting a second one. Only rank 0 logs to
    W&B, so only rank 0 makes the id (ranks started together by SLURM would race)."""
    if cfg.get("logger") and cfg.logger.get("wandb") is not None and rank_zero_only.rank == 0:
        OmegaConf.update(cfg, "logger.wandb.id", wandb_run_id(cfg.paths.output_dir), force_add=True)
        OmegaConf.update(cfg, "logger.wandb.resume", "allow", force_add=True)


def run(cfg: DictConfig) -> dict[str, float]:
    """One training job. Returns the final metrics (best validation, test). A job whose
    directory holds ``completed.json`` is skipped; one holding ``checkpoints/last.ckpt``
    resumes from it."""
    started = time.perf_counter()
    _check_command_line(cfg)
    finished = completion(cfg.paths.output_dir)
    if finished is not None:
        log.info("Already finished on %s (%s/completed.json): skipped; delete that file to run the job again.", finished["finished"], cfg.paths.output_dir)
        return finished.get("metrics", {})
    resume_from = last_checkpoint(cfg.paths.output_dir) if cfg.train else None
    if resume_from is not None:
        log.info("Resuming from %s", resume_from)
    _use_run_wandb_id(cfg)
    L.seed_everything(cfg.seed, workers=True)
    resolve_model_inputs(cfg)
    if cfg.model.get("au_guidance") and cfg.model.au_guidance.weight > 0:
        OmegaConf.update(cfg, "data.au_maps", "all")  # AU guidance reads the training batches' AU maps
    datamodule = hydra.utils.instantiate(cfg.data)
    module = hydra.utils.instantiate(cfg.model, num_classes=datamodule.num_classes, class_names=datamodule.class_names, _convert_="all")
    if cfg.init_from:
        _load_initial_weights(module, cfg.init_from)
    loggers = _instantiate_group(cfg.get("logger"))
    callbacks = [c for c in _instantiate_group(cfg.get("callbacks")) if loggers or not isinstance(c, LearningRateMonitor)]
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    if cfg.train:
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from)
    else:
        trainer.validate(module, datamodule=datamodule)
    results = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
    checkpoint = best_checkpoint_callback(trainer)
    best = checkpoint.best_model_path if checkpoint is not None and checkpoint.best_model_path else None
    if cfg.test:
        trainer.test(module, datamodule=datamodule, ckpt_path=best)
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
    places = {"output directory": cfg.paths.output_dir, "best checkpoint": best or "none (no checkpoint callback)"}
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            places["W&B run"] = f"{logger.experiment.dir} ({logger.experiment.settings.mode}; `wandb sync` uploads offline runs)"
            logger.experiment.finish()
        else:
            places[f"{type(logger).__name__}"] = logger.log_dir
    print_summary(f"{cfg.model.net.name} on {cfg.data.name}, fold {cfg.data.fold}", results, places, seconds, _heatmap_summaries(trainer))


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    with ddp_job_scope():
        try:
            results = run(cfg)
        except SIGTERMException:
            sys.exit(143)  # terminated (128 + SIGTERM), resumable: ResumeState logged how
        except Exception as error:
            message = user_message(error)
            if message is None:
                raise
            sys.exit(f"Error: {message}")
    return results.get("best_val_acc")


if __name__ == "__main__":
    try:
        sys.argv[1:] = explain_arguments(resume_arguments(sys.argv[1:]))
    except UserError as error:
        sys.exit(f"Error: {error}")
    main()
