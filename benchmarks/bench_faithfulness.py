"""Faithfulness cost on this CPU, measured in the same run on the same network and images:
deletion + insertion at 20 steps and ROAD (MoRF + LeRF) at 5 fractions per image, against
the floor: the forward passes they need (the same number of images through the network at
its best batch size, timed as one run like ours, the two alternated). Target: ours / floor
<= 1.2. Also printed: the ROAD imputation alone (the sparse solves on the CPU).

    python benchmarks/bench_faithfulness.py [--images 32 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_lime import seconds  # noqa: E402  (best of repeated timings)

from ferlens.datamodules.synthetic import SyntheticFaces  # noqa: E402
from ferlens.evaluation.faithfulness.curves import DELETION_STEPS, ROAD_FRACTIONS, deletion_insertion, removed_count, road, saliency_ranks, tie_breaks  # noqa: E402
from ferlens.evaluation.faithfulness.imputation import linear_imputation  # noqa: E402
from ferlens.networks.registry import build_network  # noqa: E402
from ferlens.saliency import build_explainer  # noqa: E402

#: (network, input side): the default network and a 224-px timm model (random weights)
NETWORKS = (("smallcnn", 64), ("resnet18", 224))
BATCHES = (16, 32, 64, 128)


def measure(name: str, side: int, count: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    net = build_network(name, 6, input_size=side).eval()
    faces = SyntheticFaces(count, count, side, seed=0)
    images = torch.stack([torch.from_numpy(faces[i].image).permute(2, 0, 1).float() / 255 for i in range(count)])
    with torch.no_grad():
        targets = net(images).argmax(dim=1)
    maps = build_explainer("gradcampp")(net, images, targets)
    forwards = count * (2 * DELETION_STEPS - 1) + 1 + count * (2 * len(ROAD_FRACTIONS) + 1)

    per_image = {}
    for batch in BATCHES:
        probe = torch.rand(batch, 3, side, side)
        with torch.no_grad():
            net(probe)  # warm-up
            per_image[batch] = seconds(lambda probe=probe: net(probe), repeats=3) / batch
    best = min(per_image, key=per_image.get)
    probe = torch.rand(best, 3, side, side)

    def floor() -> None:
        with torch.no_grad():
            for start in range(0, forwards, best):
                net(probe[: min(best, forwards - start)])

    def ours() -> None:
        deletion_insertion(net, images, maps, targets, batch_size=best)
        road(net, images, maps, targets, batch_size=best)

    ours()  # warm-up
    floor_seconds, ours_seconds = [], []
    for _ in range(repeats):  # alternated, so that a change of the machine's load hits both
        floor_seconds.append(seconds(floor))
        ours_seconds.append(seconds(ours))

    ranks, pixels = saliency_ranks(maps, tie_breaks(images, 0)), side * side
    masks = [ranks < removed_count(f, pixels) for f in ROAD_FRACTIONS] + [ranks >= pixels - removed_count(f, pixels) for f in ROAD_FRACTIONS]
    imputation = seconds(lambda: [linear_imputation(images, mask.view(count, side, side)) for mask in masks], repeats)
    return {"forwards": forwards, "best batch": best, "floor": min(floor_seconds), "ours": min(ours_seconds), "imputation": imputation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, nargs=2, default=(32, 8), metavar=("SMALLCNN", "RESNET18"), help="images per network")
    parser.add_argument("--repeats", type=int, default=2, help="alternated timings of the floor and ours; the best of each")
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; deletion + insertion at {DELETION_STEPS} steps, ROAD at {len(ROAD_FRACTIONS)} fractions"
    )
    print(f"{'network':<12}{'input':>6}{'images':>8}{'forwards':>10}{'batch':>7}{'floor s':>10}{'ours s':>10}{'imputation s':>14}{'ours / floor':>14}")
    for (name, side), count in zip(NETWORKS, args.images, strict=True):
        result = measure(name, side, count, args.repeats)
        print(
            f"{name:<12}{side:>6}{count:>8}{result['forwards']:>10}{result['best batch']:>7}{result['floor']:>10.2f}{result['ours']:>10.2f}"
            f"{result['imputation']:>14.2f}{result['ours'] / result['floor']:>14.2f}"
        )
    print("target: ours / floor <= 1.2")


if __name__ == "__main__":
    main()
