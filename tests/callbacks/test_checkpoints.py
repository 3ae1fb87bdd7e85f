"""last.ckpt shares the best epoch's file (a hard link) instead of storing the weights twice."""

from __future__ import annotations

import os

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ferlens.callbacks.checkpoints import LastCheckpoint, best_checkpoint_callback


class ScriptedAccuracy(L.LightningModule):
    """A linear model whose validation accuracy follows a script, one value per epoch."""

    def __init__(self, accuracies: list[float]) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 2)
        self.accuracies = accuracies

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return nn.functional.cross_entropy(self.layer(batch[0]), batch[1])

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self.log("val/acc", self.accuracies[self.current_epoch])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(tmp_path, accuracies: list[float]) -> tuple[L.Trainer, str]:
    data = DataLoader(TensorDataset(torch.randn(8, 4), torch.randint(0, 2, (8,))), batch_size=4)
    best = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, filename="epoch{epoch:03d}", monitor="val/acc", mode="max", auto_insert_metric_name=False)
    last = LastCheckpoint(dirpath=tmp_path, filename="last", monitor=None, save_top_k=1, enable_version_counter=False)
    trainer = L.Trainer(max_epochs=len(accuracies), callbacks=[best, last], logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(ScriptedAccuracy(accuracies), data, data)
    return trainer, str(tmp_path / "last.ckpt")


@pytest.mark.parametrize(("accuracies", "shared"), [([0.5, 0.7, 0.9], True), ([0.5, 0.9, 0.7], False)])
def test_last_is_a_link_to_the_best_file_only_when_the_last_epoch_is_the_best(tmp_path, accuracies, shared):
    trainer, last = _fit(tmp_path, accuracies)
    best = best_checkpoint_callback(trainer).best_model_path
    assert sorted(os.listdir(tmp_path)) == sorted({os.path.basename(best), "last.ckpt"})  # older bests deleted
    assert os.path.samefile(best, last) is shared
    restored = torch.load(last, map_location="cpu", weights_only=False)
    assert restored["epoch"] == len(accuracies) - 1 and torch.equal(restored["state_dict"]["layer.weight"], trainer.lightning_module.layer.weight)
    if shared:
        assert os.stat(last).st_nlink == 2  # one copy of the weights on disk


def test_a_link_survives_the_deletion_of_the_best_file_it_shared(tmp_path):
    """Epoch 2 is the best (last.ckpt links to it); epoch 3 rewrites last.ckpt, which must not
    write through the link into the best file; a later best deletes epoch 2's file."""
    trainer, last = _fit(tmp_path, [0.5, 0.9, 0.7, 0.95])
    best = best_checkpoint_callback(trainer).best_model_path
    assert os.path.basename(best) == "epoch003.ckpt" and os.path.samefile(best, last)
    assert not (tmp_path / "epoch001.ckpt").exists()
    trainer, last = _fit(tmp_path / "b", [0.5, 0.9, 0.7])
    best = best_checkpoint_callback(trainer).best_model_path
    assert torch.load(best, map_location="cpu", weights_only=False)["epoch"] == 1  # untouched by epoch 2's last.ckpt
    assert torch.load(last, map_location="cpu", weights_only=False)["epoch"] == 2
