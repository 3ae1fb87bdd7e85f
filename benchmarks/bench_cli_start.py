"""How fast ``train.py --help`` and ``train.py --cfg job`` answer, against importing torch
and Lightning (the baseline: what every ``--help`` paid before the entry script loaded them
only for a job), measured in the same run.

    python benchmarks/bench_cli_start.py [--repeats 5]

Each figure is the median wall time of fresh processes (interpreter start included).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def seconds(command: list[str], repeats: int) -> float:
    """Median wall time (s) of ``repeats`` runs of ``command`` from the repository folder."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    baseline = seconds([sys.executable, "-c", "import torch, lightning"], args.repeats)
    print(f"| command | seconds | vs `import torch, lightning` ({baseline:.2f} s) |")
    print("|---|---|---|")
    for flags in (["--help"], ["--cfg", "job"], ["--cfg", "job", "model=vgg16", "saliency=[gradcam,lime]"]):
        took = seconds([sys.executable, "train.py", *flags], args.repeats)
        print(f"| `train.py {' '.join(flags)}` | {took:.2f} | {took / baseline:.2f}x |")


if __name__ == "__main__":
    main()
