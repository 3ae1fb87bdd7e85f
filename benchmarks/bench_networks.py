"""Training speed of every network on this CPU, and Lightning's overhead over plain PyTorch.

    python benchmarks/bench_networks.py [--batch 8] [--steps 3] [--networks weinet songnet ...]

(1) forward + backward + Adam step images/s of each network at its input size, batch 8;
(2) the same training (FERModule.training_step, same data, same steps) in Lightning's
    training loop against a plain PyTorch loop (the baseline): overhead ratio, target <= 1.05.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lightning as L  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from ferlens.formats.expressions import CLASSES_6  # noqa: E402
from ferlens.lightning_modules.fer_module import FERModule  # noqa: E402
from ferlens.networks.registry import build_network, resolve_data_config  # noqa: E402
from ferlens.networks.timm_backbones import STUDY_BACKBONES  # noqa: E402

STUDY_NETWORKS = ["alexnet", "weinet", "songnet", "silnet", *STUDY_BACKBONES]
CLASSES = CLASSES_6


def network_speed(name: str, batch: int, steps: int) -> tuple[int, float]:
    """(input size, images/s) of forward + backward + Adam step."""
    torch.manual_seed(0)
    net = build_network(name, 6)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    size = net.data_config.input_size
    images, labels = torch.rand(batch, 3, size, size), torch.randint(0, 6, (batch,))

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(net(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return size, batch * steps / (time.perf_counter() - start)


class _Batches(TensorDataset):
    def __getitem__(self, index: int) -> dict:
        image, label = super().__getitem__(index)
        return {"image": image, "label": label}


def loop_overhead(name: str, batch: int, batches: int) -> tuple[float, float]:
    """(plain PyTorch seconds, Lightning seconds) for one epoch of ``batches`` training steps."""
    size = resolve_data_config(name).input_size
    data = _Batches(torch.rand(batch * batches, 3, size, size), torch.randint(0, 6, (batch * batches,)))

    def fresh() -> FERModule:
        torch.manual_seed(0)
        return FERModule({"name": name}, 6, CLASSES, optimizer=functools.partial(torch.optim.Adam, lr=1e-4))

    module = fresh()
    optimizer = module.configure_optimizers()
    start = time.perf_counter()
    module.train()
    for item in DataLoader(data, batch_size=batch):
        loss = module.training_step(item, 0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    plain = time.perf_counter() - start

    module = fresh()
    trainer = L.Trainer(
        max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0
    )
    start = time.perf_counter()
    trainer.fit(module, train_dataloaders=DataLoader(data, batch_size=batch))
    return plain, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--networks", nargs="*", default=STUDY_NETWORKS)
    parser.add_argument("--overhead-network", default="weinet")
    parser.add_argument("--overhead-batches", type=int, default=40)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    print(f"{'network':<18}{'input':>7}{'images/s':>11}")
    for name in args.networks:
        size, speed = network_speed(name, args.batch, args.steps)
        print(f"{name:<18}{size:>7}{speed:>11.1f}", flush=True)
    loop_overhead(args.overhead_network, args.batch, 3)  # warm-up of both paths
    plain, lightning = loop_overhead(args.overhead_network, args.batch, args.overhead_batches)
    print(
        f"{args.overhead_network}, {args.overhead_batches} steps of batch {args.batch}: plain PyTorch loop {plain:.2f} s (baseline), "
        f"Lightning loop {lightning:.2f} s, overhead ratio {lightning / plain:.3f} (target <= 1.05)"
    )


if __name__ == "__main__":
    main()
