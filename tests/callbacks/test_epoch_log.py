"""One line of metrics per finished epoch in the run's log file."""

from __future__ import annotations

import logging

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ferlens.callbacks.epoch_log import EpochLog, epoch_line
from ferlens.jobs.console_log import FILE_ONLY


def test_the_line_shows_the_known_metrics_in_order_then_lr_and_time():
    metrics = {"val/acc": torch.tensor(0.91304), "train/loss": 0.53211, "val/recall/Anger": 0.5, "val/att_cos": 0.4}
    assert epoch_line(2, 10, metrics, 0.0009, 12.34) == "epoch 3/10: train/loss 0.5321, val/acc 0.9130, val/att_cos 0.4000, lr 0.0009, 12.3 s"
    assert epoch_line(0, 1, {}, None, 1.0) == "epoch 1/1: 1.0 s"


class Tiny(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 2)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = nn.functional.cross_entropy(self.layer(batch[0]), batch[1])
        self.log("train/loss", loss, on_step=False, on_epoch=True)  # epoch-level: final only after on_train_epoch_end
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self.log("val/acc", 0.25 * (self.current_epoch + 1))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
        return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)}


def test_each_epoch_logs_its_own_final_metrics_once_on_the_file_logger(caplog):
    data = DataLoader(TensorDataset(torch.randn(8, 4), torch.randint(0, 2, (8,))), batch_size=4)
    trainer = L.Trainer(max_epochs=3, callbacks=[EpochLog()], logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    with caplog.at_level(logging.INFO, logger=FILE_ONLY):
        trainer.fit(Tiny(), data, data)
    lines = [record.getMessage() for record in caplog.records if record.name == FILE_ONLY]
    assert [line.split(":")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all("train/loss" in line for line in lines)  # written once the epoch's training metrics exist
    assert [line.split("val/acc ")[1][:6] for line in lines] == ["0.2500", "0.5000", "0.7500"]
    assert [line.split("lr ")[1].split(",")[0] for line in lines] == ["0.1", "0.05", "0.025"]  # the rate each epoch used
