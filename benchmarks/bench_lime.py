"""LIME and CAM cost on this CPU, measured in the same run on the same model and images:

- our batched LIME (1000 samples, the study's settings) against the ``lime`` package given
  the same superpixels, and against the floor of any LIME: 1000 forward passes at the best
  batch size (target: ours / floor <= 1.3);
- Grad-CAM, Grad-CAM++ and LayerCAM per image against one forward + backward pass per image.

    python benchmarks/bench_lime.py [--network weinet] [--images 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferlens.datamodules.synthetic import SyntheticFaces  # noqa: E402
from ferlens.networks.registry import build_network  # noqa: E402
from ferlens.saliency import build_explainer  # noqa: E402
from ferlens.saliency.lime import Lime, superpixels  # noqa: E402


def seconds(work, repeats: int = 1) -> float:
    """Best of ``repeats`` timings of ``work()``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="weinet")
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = build_network(args.network, 6).eval()
    size = model.data_config.input_size
    faces = SyntheticFaces(args.images, args.images, size, seed=0)
    images = np.stack([faces[i].image for i in range(args.images)]).astype(np.float64) / 255.0
    tensors = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        targets = model(tensors).argmax(dim=1)

    floors = {}
    for batch in (25, 50, 100, 250, 500):
        probe = torch.rand(batch, 3, size, size)
        with torch.no_grad():
            model(probe)  # warm-up
            floors[batch] = seconds(lambda probe=probe: model(probe), repeats=3) * args.samples / batch
    best_batch = min(floors, key=floors.get)
    floor = floors[best_batch]

    ours_explainer = Lime(num_samples=args.samples, batch_size=best_batch)
    ours = seconds(lambda: ours_explainer(model, tensors, targets)) / args.images

    from lime.lime_image import LimeImageExplainer

    segments = superpixels(images)

    def classify(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(batch).permute(0, 3, 1, 2).float()).softmax(dim=1).numpy()

    def package() -> None:
        for i in range(args.images):
            LimeImageExplainer(kernel_width=0.25, random_state=0).explain_instance(
                images[i], classify, labels=(int(targets[i]),), top_labels=None, hide_color=0, num_samples=args.samples,
                batch_size=best_batch, segmentation_fn=lambda _, i=i: segments[i], random_seed=0,
            )  # fmt: skip

    reference = seconds(package) / args.images

    batch, batch_targets = torch.rand(16, 3, size, size), torch.zeros(16, dtype=torch.long)
    cams = {}
    for method in ("gradcam", "gradcampp", "layercam"):
        explainer = build_explainer(method)
        explainer(model, batch, batch_targets)  # warm-up
        cams[method] = seconds(lambda explainer=explainer: explainer(model, batch, batch_targets), 3) / 16

    def forward_backward() -> None:
        inputs = batch.clone().requires_grad_(True)
        model(inputs)[:, 0].sum().backward()

    forward_backward()
    fb = seconds(forward_backward, 3) / 16

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.network} at {size}px, {args.samples} LIME samples, {args.images} images")
    print(f"{'what':<52}{'s / image':>11}")
    print(f"{'floor: forward passes at the best batch (' + str(best_batch) + ')':<52}{floor:>11.3f}")
    print(f"{'ours (batched LIME)':<52}{ours:>11.3f}")
    print(f"{'lime package, same superpixels':<52}{reference:>11.3f}")
    print(f"{'one forward + backward (Grad-CAM baseline)':<52}{fb:>11.4f}")
    for method, cost in cams.items():
        print(f"{method:<52}{cost:>11.4f}")
    print(f"LIME: ours / floor = {ours / floor:.2f} (target <= 1.3); lime package / ours = {reference / ours:.2f}x")
    print("CAM / (forward + backward): " + ", ".join(f"{method} {cost / fb:.2f}" for method, cost in cams.items()))


if __name__ == "__main__":
    main()
