"""Is data the bottleneck? Synthetic rendering and dataloader throughput against the
training step of the default model, measured in the same run.

    python benchmarks/bench_data.py [--images 600] [--batch 64]

Prints images/s for (1) rendering synthetic faces, (2) the training dataloader over the
in-memory cache (what `python train.py` iterates every epoch), (3) the default model's
training step (forward + backward + Adam), and the ratio loader / step (> 1: data keeps up).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferlens.datamodules.fer_datamodule import FERDataModule  # noqa: E402
from ferlens.datamodules.synthetic import SyntheticFaces  # noqa: E402
from ferlens.networks.registry import build_network  # noqa: E402


def images_per_second(work, images: int) -> float:
    start = time.perf_counter()
    work()
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    torch.manual_seed(0)

    faces = SyntheticFaces(args.images, 20, args.size)
    render = images_per_second(lambda: [faces[i] for i in range(len(faces))], len(faces))

    data = FERDataModule(SyntheticFaces(args.images, 20, args.size), input_size=args.size, batch_size=args.batch, num_folds=5)
    data.setup("fit")
    loader = data.train_dataloader()
    train_images = len(loader.dataset)
    loading = images_per_second(lambda: [None for _ in loader], train_images)

    net = build_network("smallcnn", num_classes=6)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    batches = list(loader)

    def train_epoch() -> None:
        for batch in batches:
            loss = torch.nn.functional.cross_entropy(net(batch["image"]), batch["label"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    train_epoch()  # warm-up
    stepping = images_per_second(train_epoch, train_images)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size}px, batch {args.batch}")
    print(f"{'stage':<38}{'images/s':>12}")
    print(f"{'render synthetic faces (uncached)':<38}{render:>12.0f}")
    print(f"{'train dataloader (cached + transform)':<38}{loading:>12.0f}")
    print(f"{'smallcnn training step (baseline)':<38}{stepping:>12.0f}")
    print(f"dataloader / training step = {loading / stepping:.1f}x  (> 1: data is not the bottleneck)")
    print(f"rendering / training step  = {render / stepping:.1f}x  (rendering happens once, at setup)")


if __name__ == "__main__":
    main()
