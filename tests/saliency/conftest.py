"""A smallcnn trained on the synthetic faces, shared by the known-truth tests of the
randomisation and faithfulness modules (trained once per test session, about 30-60 s on 2 cores)."""

import math

import pytest
import torch
import torch.nn.functional as F

from datamodules.synthetic import SyntheticFaces
from lightning_modules.networks import build_network

TRAIN_IMAGES, HELD_OUT_IMAGES, SIDE, EPOCHS, BATCH = 900, 120, 64, 10, 32


@pytest.fixture(scope="session")
def trained_smallcnn() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """(smallcnn trained on 900 synthetic 64-px faces of 30 subjects, eval mode; 120 further
    faces of the same subjects it never saw, raw [120, 3, 64, 64] in [0, 1]; their labels [120]).
    Adam 1e-3 with cosine decay, batch 32, 10 epochs: about 0.97 accuracy on the 120."""
    faces = SyntheticFaces(TRAIN_IMAGES + HELD_OUT_IMAGES, 30, SIDE, seed=0)
    samples = [faces[i] for i in range(len(faces))]
    images = torch.stack([torch.from_numpy(sample.image).permute(2, 0, 1).float() / 255 for sample in samples])
    labels = torch.tensor([sample.label for sample in samples])
    torch.manual_seed(0)
    net = build_network("smallcnn", 6, input_size=SIDE)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS * math.ceil(TRAIN_IMAGES / BATCH))
    net.train()
    for _ in range(EPOCHS):
        order = torch.randperm(TRAIN_IMAGES)
        for start in range(0, TRAIN_IMAGES, BATCH):
            batch = order[start : start + BATCH]
            optimizer.zero_grad()
            F.cross_entropy(net(images[batch]), labels[batch]).backward()
            optimizer.step()
            schedule.step()
    net.eval()
    held_out, held_out_labels = images[TRAIN_IMAGES:], labels[TRAIN_IMAGES:]
    with torch.no_grad():
        accuracy = (net(held_out).argmax(dim=1) == held_out_labels).float().mean().item()
    assert accuracy >= 0.9, f"the known-truth network did not train: held-out accuracy {accuracy:.3f}"
    return net, held_out, held_out_labels
