"""The study's full grid on paper: what 12 networks x 5 folds, trained and explained with
LIME, cost here, and projected onto a GPU from FLOPs.

    python benchmarks/bench_study_scale.py [--train-images 8000] [--gpu-tflops 100] [--networks weinet vgg16 ...]

Per network, measured on this machine in the same run: training images/s (forward +
backward + Adam step, batch 8, the network's input size) and forward images/s (eval, batch
32), the explanation pass's unit (LIME's cost is its 1000 forward passes per image, see
bench_lime.py). The ratio printed is each network's LIME pass over its own training (the
baseline, measured in the same run), for the study's protocol: ``epochs x train images``
training images (epochs from configs/model/<network>.yaml), and 100 images x 6 classes x
1000 LIME samples forward passes, per fold, 5 folds.

GPU projection: forward FLOPs per image counted with ``torch.utils.flop_counter``; a
training image costs 3x its forward FLOPs (forward + two backward products); images/s =
``--gpu-tflops`` (effective, i.e. achieved, not peak) / FLOPs. This ignores data loading and
kernel-launch limits, so it is optimistic for the small 64-px networks.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_networks import network_speed  # noqa: E402  (this folder is on the path when run as a script)

from ferlens.networks.registry import build_network  # noqa: E402

STUDY_NETWORKS = ["alexnet", "weinet", "songnet", "silnet", "vgg16", "vgg19", "resnet50", "resnet101v2", "inceptionv3", "xception"]
STUDY_NETWORKS += ["mobilenetv3large", "efficientnetv2b0"]
FOLDS, LIME_SAMPLES, IMAGES_PER_CLASS, CLASSES = 5, 1000, 100, 6


def epochs_of(network: str) -> int:
    """The study's epochs for ``network`` (its model config)."""
    return int(OmegaConf.load(ROOT / "configs" / "model" / f"{network}.yaml").trainer.max_epochs)


def measure(network: str, train_batch: int, forward_batch: int, steps: int) -> dict[str, float]:
    """Input size, forward GFLOPs per image, training and forward images/s on this machine."""
    size, train = network_speed(network, train_batch, steps)  # forward + backward + Adam step
    net = build_network(network, CLASSES).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.rand(1, 3, size, size))
    images = torch.rand(forward_batch, 3, size, size)
    with torch.no_grad():
        net(images)  # warm-up
        start = time.perf_counter()
        for _ in range(steps):
            net(images)
        forward = forward_batch * steps / (time.perf_counter() - start)
    return {"input": size, "gflops": counter.get_total_flops() / 1e9, "train": train, "forward": forward}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=STUDY_NETWORKS)
    parser.add_argument("--train-images", type=int, default=8000, help="training images per fold (the paper does not state its total; an assumption)")
    parser.add_argument("--gpu-tflops", type=float, default=100.0, help="effective (achieved) TFLOP/s of the GPU projected onto")
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--forward-batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(max(1, torch.get_num_threads()))
    lime_forwards = IMAGES_PER_CLASS * CLASSES * LIME_SAMPLES * FOLDS
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; per network: {FOLDS} folds x epochs x {args.train_images} training images, "
          f"LIME {IMAGES_PER_CLASS} images x {CLASSES} classes x {LIME_SAMPLES} samples per fold; GPU at {args.gpu_tflops:g} effective TFLOP/s")  # fmt: skip
    columns = ["network", "input", "GFLOPs/image", "epochs", "train img/s here", "explain img/s here (LIME)", "LIME / training (baseline)"]
    columns += ["CPU hours here", "GPU train img/s", "GPU LIME img/s", "GPU hours"]
    header = "| " + " | ".join(columns) + " |"
    print(header)
    print("|" + "---|" * len(columns))
    total_cpu = total_gpu = 0.0
    for network in args.networks:
        m = measure(network, args.train_batch, args.forward_batch, args.steps)
        epochs = epochs_of(network)
        train_images = FOLDS * epochs * args.train_images
        cpu_train_s, cpu_lime_s = train_images / m["train"], lime_forwards / m["forward"]
        gpu_train, gpu_forward = args.gpu_tflops * 1e12 / (3 * m["gflops"] * 1e9), args.gpu_tflops * 1e12 / (m["gflops"] * 1e9)
        gpu_hours = (train_images / gpu_train + lime_forwards / gpu_forward) / 3600
        cpu_hours = (cpu_train_s + cpu_lime_s) / 3600
        total_cpu, total_gpu = total_cpu + cpu_hours, total_gpu + gpu_hours
        cells = [network, m["input"], f"{m['gflops']:.2f}", epochs, f"{m['train']:.1f}", f"{m['forward'] / LIME_SAMPLES:.4f}"]
        cells += [f"{cpu_lime_s / cpu_train_s:.1f}x"]
        cells += [f"{cpu_hours:,.0f}", f"{gpu_train:,.0f}", f"{gpu_forward / LIME_SAMPLES:.1f}", f"{gpu_hours:.2f}"]
        print("| " + " | ".join(map(str, cells)) + " |")
    print(f"Total for {len(args.networks)} networks x {FOLDS} folds: {total_cpu:,.0f} CPU hours here; ", end="")
    print(f"projected {total_gpu:.2f} GPU hours at {args.gpu_tflops:g} effective TFLOP/s.")


if __name__ == "__main__":
    main()
