"""Peak memory of a real training run of each network at its config's batch size, and what
gradient accumulation saves (the baseline is the full batch, measured in the same run).

    python benchmarks/bench_memory.py [--networks vgg16 weinet ...] [--accumulate 4]

Each measurement is one fresh ``python train.py model=<name>`` process (no pretrained
weights: none can be downloaded here; the weights' source does not change the memory) on
300 synthetic faces at the network's input size, for one training step and one validation
batch, with the default callbacks (checkpoints, global Grad-CAM++ heatmaps, CAM-COS). The
figure is the process's peak resident set size (``wait4``'s ``ru_maxrss``), on CPU; on a GPU
the activations move to device memory instead. The second column runs the same effective
batch as ``data.batch_size=<batch / k> trainer.accumulate_grad_batches=<k>``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_networks import STUDY_NETWORKS  # noqa: E402  (this folder is on the path when run as a script)

SMALL_RUN = [
    "model.net.pretrained=false",
    "data.source.num_images=300",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=1",
    "trainer.limit_val_batches=1",
    "test=false",
    "logger=none",
    "callbacks.progress_bar=null",
]


def peak_rss_gib(overrides: list[str]) -> float:
    """Peak resident memory (GiB) of one ``train.py`` process with ``overrides``."""
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, str(ROOT / "train.py"), *overrides, f"hydra.run.dir={directory}"]
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(overrides)} failed: {process.stderr.read()[-2000:]}")
        return usage.ru_maxrss / 2**20  # KiB on Linux


def config_batch(name: str) -> int:
    """The batch size ``configs/model/<name>.yaml`` trains with (64: the data default)."""
    for line in (ROOT / "configs" / "model" / f"{name}.yaml").read_text().splitlines():
        if line.strip().startswith("batch_size:"):
            return int(line.split(":")[1])
    return 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=[*STUDY_NETWORKS, "smallcnn"])
    parser.add_argument("--accumulate", type=int, default=4, help="k: batch / k per step, k steps per update")
    args = parser.parse_args()
    print(f"| network | batch | peak RSS, batch (GiB) | batch / {args.accumulate} x {args.accumulate} accumulated (GiB) | ratio |")
    print("|---|---|---|---|---|")
    for name in args.networks:
        batch = config_batch(name)
        full = peak_rss_gib([f"model={name}", *SMALL_RUN])
        smaller = [f"data.batch_size={batch // args.accumulate}", f"trainer.accumulate_grad_batches={args.accumulate}"]
        accumulated = peak_rss_gib([f"model={name}", *SMALL_RUN, *smaller, f"trainer.limit_train_batches={args.accumulate}"])
        print(f"| {name} | {batch} | {full:.1f} | {accumulated:.1f} | {accumulated / full:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
