"""The selection shared by the heatmap and region-importance passes."""

import numpy as np
import pytest
import torch

from ferlens.callbacks.selection import select_samples, split_predictions
from ferlens.user_errors import UserError


def test_selection_caps_each_class_with_the_seed_and_follows_the_policy():
    indices = np.arange(100)[::-1].copy()
    labels = indices % 3
    predictions = np.where(indices % 5 == 0, (labels + 1) % 3, labels)
    picked, classes = select_samples(indices, labels, predictions, "predicted", False, 10, seed=1)
    assert np.bincount(classes).tolist() == [10, 10, 10] and (np.diff(picked) > 0).all()
    again, _ = select_samples(indices[::-1], labels[::-1], predictions[::-1], "predicted", False, 10, seed=1)
    assert np.array_equal(picked, again)  # independent of record order (ranks)
    assert not np.array_equal(picked, select_samples(indices, labels, predictions, "predicted", False, 10, seed=2)[0])
    correct, classes = select_samples(indices, labels, predictions, "label", True, None, seed=1)
    assert len(correct) == 80 and (classes == correct % 3).all()


class _Module(torch.nn.Module):
    """A stand-in LightningModule: logits = the images' first pixel per class."""

    device = torch.device("cpu")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images[:, 0, 0, :3]


def test_split_predictions_records_every_sample_and_restores_the_mode():
    module = _Module().train()
    images = torch.zeros(4, 3, 2, 3)
    images[torch.arange(4), 0, 0, torch.tensor([2, 0, 1, 2])] = 1.0
    batches = [(torch.tensor([7, 3]), torch.tensor([2, 1]), images[:2]), (torch.tensor([5, 9]), torch.tensor([1, 0]), images[2:])]
    records = split_predictions(module, batches, 3, "Region importance")
    assert records.tolist() == [[7, 2, 2], [3, 1, 0], [5, 1, 1], [9, 0, 2]] and module.training
    with pytest.raises(UserError, match=r"^Region importance got outputs \[2, 3\] from the model for 4 classes"):
        split_predictions(module, batches, 4, "Region importance")
    assert module.training
