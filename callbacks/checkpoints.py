"""The run's two checkpoints: the best epoch's (by validation accuracy, for test and the
heatmaps) and ``last.ckpt`` (the latest finished epoch, for ``resume=``), without storing
the same weights twice."""

from __future__ import annotations

import os
import shutil

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


def best_checkpoint_callback(trainer: L.Trainer) -> ModelCheckpoint | None:
    """The first ModelCheckpoint that monitors a metric (the best epoch's; the unmonitored
    one only keeps ``last.ckpt``), or None."""
    return next((callback for callback in trainer.checkpoint_callbacks if callback.monitor is not None), None)


class BestCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose ``{epoch}`` in ``filename`` counts from 1, as the progress bar,
    ``train.log`` and the figures do: the 12th of 12 epochs writes ``epoch012-...ckpt``, not
    ``epoch011`` (the checkpoint's own ``epoch`` entry stays Lightning's 0-based 11)."""

    def format_checkpoint_name(self, metrics: dict, filename: str | None = None, ver: int | None = None, prefix: str | None = None) -> str:
        counted = {**metrics, "epoch": metrics["epoch"] + 1} if "epoch" in metrics else metrics
        return super().format_checkpoint_name(counted, filename, ver, prefix)


class LastCheckpoint(ModelCheckpoint):
    """An unmonitored ModelCheckpoint for ``last.ckpt``. In an epoch whose checkpoint the best
    callback has just written (every improving epoch, the first included), ``last.ckpt``
    becomes a hard link to that file instead of a second copy: a 1-epoch resnet18 run kept
    two identical 134 MB files. A hard link, unlike a symbolic one, stays valid when the best
    callback later deletes the file it shared. The previous ``last.ckpt`` is removed before
    it is replaced, never written through, so the best file it may share data with is never
    modified. Where hard links are impossible, the file is copied."""

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        best = best_checkpoint_callback(trainer)
        shared = getattr(best, "_last_checkpoint_saved", None) if best is not None and best is not self else None
        same_step = shared and getattr(best, "_last_global_step_saved", None) == trainer.global_step
        if trainer.is_global_zero and os.path.lexists(filepath):
            os.remove(filepath)
        if not same_step or os.path.abspath(shared) == os.path.abspath(filepath):
            super()._save_checkpoint(trainer, filepath)
            return
        if trainer.is_global_zero:
            try:
                os.link(shared, filepath)
            except OSError:
                shutil.copyfile(shared, filepath)
        trainer.strategy.barrier("LastCheckpoint")
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
