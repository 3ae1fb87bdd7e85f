"""One line per finished epoch in the run's log file (``train.log``): the epoch's training
and validation metrics, the learning rate and the time. The console keeps its progress bar;
per-class metrics stay in the metric loggers (CSV, W&B)."""

from __future__ import annotations

import logging
import time

import lightning as L
import torch

from ferlens.jobs.console_log import FILE_ONLY

log = logging.getLogger(FILE_ONLY)

#: Metrics shown per epoch, in this order; each only when the run logs it.
EPOCH_METRICS = ("train/loss", "train/acc", "val/loss", "val/acc", "val/f1", "val/att_cos", "val/cam_cos", "train/au_alignment")


def epoch_line(epoch: int, max_epochs: int, metrics: dict[str, torch.Tensor | float], learning_rate: float | None, seconds: float) -> str:
    """``epoch 3/10: train/loss 0.5321, val/acc 0.9130, ..., lr 0.0009, 12.3 s`` (epoch 1-based;
    the learning rate at the epoch's start)."""
    parts = [f"{name} {float(metrics[name]):.4f}" for name in EPOCH_METRICS if name in metrics]
    if learning_rate is not None:
        parts.append(f"lr {learning_rate:.3g}")
    parts.append(f"{seconds:.1f} s")
    return f"epoch {epoch + 1}/{max_epochs}: " + ", ".join(parts)


class EpochLog(L.Callback):
    """Writes ``epoch_line`` to the ``ferlens.file`` logger for each finished training epoch
    (its validation included), on rank 0. The line is written once the epoch's metrics are
    final: Lightning computes the epoch-level training metrics after every
    ``on_train_epoch_end``, so at the next epoch's start or at the end of training."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._learning_rate: float | None = None  # of the first optimizer, at the epoch's start
        self._finished: tuple[int, float | None, float] | None = None  # epoch, lr, seconds

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer)
        self._started = time.perf_counter()
        optimizers = trainer.optimizers
        self._learning_rate = optimizers[0].param_groups[0]["lr"] if optimizers else None

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._finished = (trainer.current_epoch, self._learning_rate, time.perf_counter() - self._started)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer)

    def _write(self, trainer: L.Trainer) -> None:
        if self._finished is not None and trainer.is_global_zero:
            epoch, learning_rate, seconds = self._finished
            log.info(epoch_line(epoch, trainer.max_epochs, trainer.callback_metrics, learning_rate, seconds))
        self._finished = None
