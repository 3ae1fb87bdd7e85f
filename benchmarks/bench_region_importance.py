"""Region-importance cost on this CPU, measured in the same run on the same network and images:
every AU region and Friesen & Ekman part of each image imputed, with ``draws`` area-matched
controls each (``evaluation.region_importance.intervention.region_importance``), against the floor: the
forward passes it needs (the same number of images through the network at the same batch
size, the two alternated). Goal: ours / floor <= 1.5 on 2 CPU cores. Also printed: where the
time goes (region and control masks, the batched sparse imputation, forward passes).

    python benchmarks/bench_region_importance.py [--images 8 2] [--draws 4] [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_lime import seconds  # noqa: E402  (best of repeated timings)

from ferlens.datamodules.synthetic import SyntheticFaces  # noqa: E402
from ferlens.evaluation.faithfulness.curves import image_seeds  # noqa: E402
from ferlens.evaluation.faithfulness.imputation import impute_jobs  # noqa: E402
from ferlens.evaluation.region_importance.intervention import control_masks, face_mask, region_importance, region_masks, region_names  # noqa: E402
from ferlens.networks.registry import build_network  # noqa: E402

#: (network, input side): the default network and a 224-px timm model (random weights)
NETWORKS = (("smallcnn", 64), ("resnet18", 224))
BATCH = 128


def measure(name: str, side: int, count: int, draws: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    net = build_network(name, 6, input_size=side).eval()
    faces = SyntheticFaces(count, count, side, seed=0)
    samples = [faces[i] for i in range(count)]
    images = torch.stack([torch.from_numpy(s.image).permute(2, 0, 1).float() / 255 for s in samples])
    landmarks = torch.stack([torch.from_numpy(s.landmarks) for s in samples])
    targets = torch.tensor([s.label for s in samples])
    names = region_names()
    points = landmarks.double().numpy()
    masks = np.stack([region_masks(names, p, side, side) for p in points])
    active = int(masks.any(axis=(2, 3)).sum())
    forwards = count + active * (1 + draws)
    probe = torch.rand(BATCH, 3, side, side)

    def floor() -> None:
        with torch.no_grad():
            for start in range(0, forwards, BATCH):
                net(probe[: min(BATCH, forwards - start)])

    def ours() -> None:
        region_importance(net, images, landmarks, targets, names, draws=draws, batch_size=BATCH)

    def drawing() -> np.ndarray:
        drawn = np.stack([region_masks(names, p, side, side) for p in points])
        hulls = [face_mask(p, side, side) for p in points]
        seeds = image_seeds(images)
        controls = [control_masks(drawn[b, r], hulls[b], draws, np.random.default_rng([0, seeds[b], 1])) for b in range(count) for r in range(len(names))]
        return np.concatenate([drawn.reshape(-1, side, side), np.concatenate(controls)])

    every = drawing()
    every = every[every.any(axis=(1, 2))]
    image_of = np.arange(len(every)) % count
    host = images.numpy().astype(np.float64)

    def imputation() -> None:
        for start in range(0, len(every), BATCH):
            impute_jobs(host, image_of[start : start + BATCH], every[start : start + BATCH])

    ours()  # warm-up
    floor_seconds, ours_seconds = [], []
    for _ in range(repeats):  # alternated, so that a change of the machine's load hits both
        floor_seconds.append(seconds(floor))
        ours_seconds.append(seconds(ours))
    return {
        "forwards": forwards,
        "floor": min(floor_seconds),
        "ours": min(ours_seconds),
        "masks": seconds(drawing, repeats),
        "imputation": seconds(imputation, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, nargs=2, default=(8, 2), metavar=("SMALLCNN", "RESNET18"), help="images per network")
    parser.add_argument("--draws", type=int, default=4, help="control patches per region and image")
    parser.add_argument("--repeats", type=int, default=2, help="alternated timings of the floor and ours; the best of each")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(region_names())} regions, {args.draws} control draws, batch {BATCH}")
    print(f"{'network':<12}{'input':>6}{'images':>8}{'forwards':>10}{'floor s':>10}{'ours s':>10}{'masks s':>10}{'imputation s':>14}{'ours / floor':>14}")
    for (name, side), count in zip(NETWORKS, args.images, strict=True):
        r = measure(name, side, count, args.draws, args.repeats)
        print(
            f"{name:<12}{side:>6}{count:>8}{r['forwards']:>10}{r['floor']:>10.2f}{r['ours']:>10.2f}{r['masks']:>10.2f}"
            f"{r['imputation']:>14.2f}{r['ours'] / r['floor']:>14.2f}"
        )
    print("goal: ours / floor <= 1.5 (ours includes the masks and the imputation; the rest of ours is the forward passes)")


if __name__ == "__main__":
    main()
