"""What Study 2's AU guidance and AU metrics cost, in the same run on the same batches.

    python benchmarks/bench_au_guidance.py [--steps 8] [--networks smallcnn,resnet18,resnet50]

1. Training step (forward, backward, SGD step; batches prepared beforehand, AU maps
   included): guided (lambda 9 on the CAM layer) / unguided, the baseline. Study 2 claims
   no significant extra training time; the target is <= 1.15x.
2. The AU maps themselves, made in the data pipeline: per image, and a training epoch's
   loader (synthetic faces, in-process as ``python train.py`` runs it) with and without
   them, against the unguided training step.
3. Validation: with ATT-COS, and with ATT-COS + CAM-COS (Grad-CAM++ on every image), against
   plain validation (the baseline).

Times are the median of ``--steps`` timed steps after one warm-up step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferlens.datamodules.fer_datamodule import FERDataModule  # noqa: E402
from ferlens.datamodules.synthetic import SyntheticFaces  # noqa: E402
from ferlens.faces.au import au_heatmap  # noqa: E402
from ferlens.lightning_modules.fer_module import FERModule  # noqa: E402

#: name -> (network config, input size, batch)
NETWORKS = {
    "smallcnn": ({"name": "smallcnn"}, 64, 64),
    "resnet18": ({"name": "resnet18", "pretrained": False}, 112, 32),
    "resnet50": ({"name": "resnet50", "pretrained": False, "output_stride": 8}, 224, 8),  # Study 2's 28x28 maps
}
CLASSES = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]


def median_seconds(work, steps: int) -> float:
    work()  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batch_of(size: int, count: int) -> dict:
    datamodule = FERDataModule(SyntheticFaces(2 * count + 60, 12, size, seed=0), input_size=size, batch_size=count, au_codebook="ours", au_maps="all")
    datamodule.setup()
    return next(iter(datamodule.train_dataloader()))


def module_for(net: dict, size: int, weight: float, cam: str | None = "gradcampp") -> FERModule:
    torch.manual_seed(0)
    module = FERModule(dict(net), 6, CLASSES, input_size=size, au_guidance={"weight": weight}, au_metrics={"cam": cam, "cam_max_images": 10**9})
    module.log = lambda *args, **kwargs: None
    module.log_dict = lambda *args, **kwargs: None
    return module


def training_step(module: FERModule, batch: dict, optimizer: torch.optim.Optimizer) -> None:
    optimizer.zero_grad()
    module.training_step(batch, 0).backward()
    optimizer.step()


def evaluate(module: FERModule, batch: dict) -> None:
    """One validation step as Lightning runs it (inference mode)."""
    with torch.inference_mode():
        module._evaluation_step("val", batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--networks", default="smallcnn,resnet18,resnet50")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"training step (forward + backward + SGD), median of {args.steps}; batches with AU maps prepared beforehand")
    print(f"{'network':<10} {'input':>5} {'batch':>5} {'unguided s':>11} {'guided s':>9} {'guided / unguided':>18}")
    steps = {}
    for name in args.networks.split(","):
        net, size, count = NETWORKS[name]
        batch = batch_of(size, count)
        timings = []
        for weight in (0.0, 9.0):
            module = module_for(net, size, weight)
            optimizer = torch.optim.SGD(module.parameters(), lr=1e-3, momentum=0.9)
            timings.append(median_seconds(partial(training_step, module, batch, optimizer), args.steps))
        steps[name] = timings[0]
        print(f"{name:<10} {size:>5} {count:>5} {timings[0]:>11.4f} {timings[1]:>9.4f} {timings[1] / timings[0]:>17.3f}x")

    print("\nAU maps in the data pipeline (ours, Anger: 9 AUs)")
    for size in (64, 224):
        face = SyntheticFaces(1, 1, size, seed=1)[0]
        per_image = median_seconds(lambda face=face, size=size: [au_heatmap("Anger", face.landmarks, size, size) for _ in range(20)], 5) / 20
        print(f"  {size} px: {per_image * 1000:.2f} ms per image")
    if "smallcnn" in steps:
        net, size, count = NETWORKS["smallcnn"]
        rates = {}
        for maps in ("eval", "all"):
            datamodule = FERDataModule(SyntheticFaces(640, 40, size, seed=0), input_size=size, batch_size=count, au_codebook="ours", au_maps=maps)
            datamodule.setup()
            loader = datamodule.train_dataloader()
            rates[maps] = median_seconds(lambda loader=loader: [None for _ in loader], 2)
        images = len(datamodule.splits["train"])
        step_rate = count / steps["smallcnn"]
        print(f"  training loader, smallcnn's {size} px, in-process: {images / rates['eval']:.0f} images/s without AU maps, {images / rates['all']:.0f} with")
        print(f"  unguided smallcnn training step: {step_rate:.0f} images/s; loader with AU maps / step = {images / rates['all'] / step_rate:.1f}x")

    print("\nvalidation step (no gradients but CAM-COS's own backward pass), median of", args.steps)
    print(f"{'network':<10} {'plain s':>8} {'+ATT-COS':>9} {'+CAM-COS':>9} {'ATT / plain':>12} {'ATT+CAM / plain':>16}")
    for name in args.networks.split(","):
        net, size, count = NETWORKS[name]
        batch = batch_of(size, count)
        plain_batch = {k: v for k, v in batch.items() if k not in ("au_map", "au_valid")}
        module_att, module_cam = module_for(net, size, 0.0, cam=None), module_for(net, size, 0.0)
        for module in (module_att, module_cam):
            module.eval()
        plain = median_seconds(partial(evaluate, module_att, plain_batch), args.steps)
        att = median_seconds(partial(evaluate, module_att, batch), args.steps)
        cam = median_seconds(partial(evaluate, module_cam, batch), args.steps)
        print(f"{name:<10} {plain:>8.4f} {att:>9.4f} {cam:>9.4f} {att / plain:>11.2f}x {cam / plain:>15.2f}x")


if __name__ == "__main__":
    main()
