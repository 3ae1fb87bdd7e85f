"""Epochs counted one way everywhere a user reads them: the bar, train.log, checkpoint names, figures."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from ferlens.callbacks.checkpoints import BestCheckpoint
from ferlens.callbacks.epoch_log import epoch_line
from ferlens.callbacks.progress import EpochProgressBar
from ferlens.lightning_modules.fer_module import confusion_title


def test_the_last_of_twelve_epochs_is_twelve_in_the_bar_the_log_the_checkpoint_and_the_figure(tmp_path, monkeypatch):
    bar = EpochProgressBar()
    monkeypatch.setattr(EpochProgressBar, "trainer", SimpleNamespace(max_epochs=12), raising=False)
    assert bar._get_train_description(11).strip() == "Epoch 12/12"  # Lightning's own bar said 11/11
    assert epoch_line(11, 12, {}, None, 1.0).startswith("epoch 12/12:")
    name = BestCheckpoint(dirpath=tmp_path, filename="epoch{epoch:03d}-acc{val/acc:.4f}", auto_insert_metric_name=False)
    assert name.format_checkpoint_name({"epoch": torch.tensor(11), "val/acc": torch.tensor(0.98611)}).endswith("epoch012-acc0.9861.ckpt")
    assert confusion_title("val", 11, None) == "val confusion, epoch 12"
    assert confusion_title("test", 12, str(tmp_path / "epoch012-acc0.9861.ckpt")) == "test confusion, epoch012-acc0.9861"
    assert confusion_title("test", 12, None) == "test confusion, final weights"
    monkeypatch.setattr(EpochProgressBar, "trainer", SimpleNamespace(max_epochs=-1), raising=False)
    assert bar._get_train_description(4).strip() == "Epoch 5"  # no limit
