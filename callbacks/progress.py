"""The training progress bar: Lightning's rich bar, numbering epochs as ``train.log`` and the
figures do (``Epoch 12/12`` for the last of 12, not ``11/11``), and stepping aside for output
that follows the fit (the heatmap pass), so that the last epoch's bar is drawn once and the
lines after it start on a line of their own."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar


class EpochProgressBar(RichProgressBar):
    """``RichProgressBar`` with epochs counted from 1 to ``max_epochs``."""

    def _get_train_description(self, current_epoch: int) -> str:
        description = f"Epoch {current_epoch + 1}" + (f"/{self.trainer.max_epochs}" if self.trainer.max_epochs not in (None, -1) else "")
        return f"{description:{len(self.validation_description)}}" if len(self.validation_description) > len(description) else description


def step_aside(trainer: L.Trainer) -> None:
    """Stop the live display of any rich progress bar of ``trainer``, leaving its last frame on
    the screen: what is printed next (a tqdm bar, log lines) then goes to the terminal as it
    is, not through the live display, which redrew the bar after every line and read a tqdm
    bar's carriage returns as new lines. The bar starts again at the next stage (test)."""
    for callback in trainer.callbacks:
        if isinstance(callback, RichProgressBar):
            callback._stop_progress()  # Lightning's own stop (teardown uses it); no public equivalent in 2.6
