"""The cost of the full statistics against one plain ``analyze.py`` run without them (the
baseline), measured in the same run on the same artifacts.

    python benchmarks/bench_statistics.py [--networks 12] [--images 100] [--resamples 2000] [--repeats 1]

The artifacts: ``--networks`` networks x 6 classes x ``--images`` images per class with
per-image evidence (smooth class maps plus noise, 20 subjects per class), written once into a
temporary folder. Each figure is the wall time of a fresh ``python analyze.py source=local``
(interpreter start, reading, scoring, figures, report), the median of ``--repeats``; the
statistics' own stages are timed in-process afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench_cli_start import seconds  # median wall time of fresh processes, run from the repository

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_artifacts(root: Path, networks: int, images: int) -> None:
    """``networks`` evidence artifacts under ``root`` (the test suite's helper)."""
    from tests.analysis.helpers import blob_maps, make_evidence_artifact

    for n in range(networks):
        make_evidence_artifact(root / f"net{n:02d}", f"net{n:02d}", images=images, seed=n, subjects=20, class_maps=blob_maps(n % 4), pretrained=n % 3 == 0)


def stages(root: Path, resamples: int) -> dict[str, float]:
    """Seconds of each stage of ``compute_statistics`` on the artifacts, in this process."""
    import warnings

    from ferlens.analysis.pipeline import analyze_collection
    from ferlens.analysis.sources import LocalSource
    from ferlens.analysis.sources.base import Filters
    from ferlens.analysis.statistics import StatisticsSettings, compute_statistics
    from ferlens.evaluation.localisation.masks import load_families
    from ferlens.evaluation.localisation.scores import Threshold

    started = time.perf_counter()
    collection = LocalSource(paths=[str(root)]).collect(Filters())
    analysis = analyze_collection(collection, load_families({"ekman": "ekman", "au": "au"}), Threshold(), progress=False)
    read = time.perf_counter() - started
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compute_statistics(analysis, StatisticsSettings(resamples=resamples))
    return {"read and score (no statistics)": read, "compute_statistics": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", type=int, default=12)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "runs"
        write_artifacts(root, args.networks, args.images)
        analyze = [sys.executable, "analyze.py", "source=local", f"source.paths=[{root}]", "progress=false", f"hydra.run.dir={folder}/hydra"]
        plain = seconds([*analyze, "statistics.enabled=false", f"report_dir={folder}/plain"], args.repeats)
        full = seconds([*analyze, f"statistics.resamples={args.resamples}", f"report_dir={folder}/full"], args.repeats)
        inside = stages(root, args.resamples)
    print(f"{args.networks} networks x 6 classes x {args.images} images, {args.resamples} bootstrap resamples")
    print("| run | seconds | vs plain analyze.py |")
    print("|---|---|---|")
    print(f"| `analyze.py statistics.enabled=false` (baseline) | {plain:.1f} | 1.00x |")
    print(f"| `analyze.py` with the full statistics | {full:.1f} | {full / plain:.2f}x |")
    for name, took in inside.items():
        print(f"| in-process: {name} | {took:.1f} | |")


if __name__ == "__main__":
    main()
