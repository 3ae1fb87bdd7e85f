"""Which of a trainer's ModelCheckpoint callbacks tracks the best epoch."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


def best_checkpoint_callback(trainer: L.Trainer) -> ModelCheckpoint | None:
    """The first ModelCheckpoint that monitors a metric (the best epoch's; the unmonitored
    one only keeps ``last.ckpt``), or None."""
    return next((callback for callback in trainer.checkpoint_callbacks if callback.monitor is not None), None)
