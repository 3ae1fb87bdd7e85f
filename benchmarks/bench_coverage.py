"""Do ferlens' 95 % intervals cover the truth 95 % of the time? Do its tests hold their level?

Simulates data sets with known population values (``ferlens.analysis.statistics.simulation``:
subjects with random effects seen by every network, five folds with training variance,
negative and positive NCC, unequal class sizes, a small cell), runs the real analysis
(``analyze_collection`` + ``compute_statistics``) on each, and prints one line per interval kind:

    coverage <kind>: <share> (<N> intervals, <D> datasets)

for cells (given the trained models), network means, network differences and the grand mean
(given one trained model, and over folds: the architecture), fold-level means, and network
means and differences over three seeds of one fold (the architecture, on shared faces); then the
specificity test's false-positive rate under the null, its power on a planted effect, and the
false-discovery rate under the global null (any significant claim when nothing is true).
The baseline it is measured against is the nominal level itself (0.95; alpha = 0.05).

    python benchmarks/bench_coverage.py [--datasets N] [--resamples R] [--seed S] [--workers W] [--log FILE] [--parts folds,model,seeds,null]
    python benchmarks/bench_coverage.py --summarise FILE [FILE ...]

``--log`` appends one JSON line per data set (its hits), so a long run can be read while it
goes; ``--summarise`` prints the same lines from such logs (the data sets done so far).
``--parts`` runs some of the simulated data sets of each seed: five folds, one fold, three
seeds of one fold (the intervals over seeds), and the null (false positives, power, the global
null); each part draws the same data whichever others run, so runs of parts can be summarised together.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("OMP_NUM_THREADS", "1")  # small matrix products: one thread each, the workers share the cores

import numpy as np  # noqa: E402

from ferlens.analysis.statistics.simulation import COVERAGE_PARTS, coverage_of_dataset, null_of_dataset  # noqa: E402


def one(seed: int, resamples: int, parts: tuple[str, ...]) -> dict:
    """Everything of ``parts`` measured on data set ``seed``."""
    result = {"seed": seed, "hits": coverage_of_dataset(seed, resamples, tuple(p for p in parts if p in COVERAGE_PARTS))}
    if "null" in parts:
        null = null_of_dataset(seed, min(resamples, 200))
        result |= {
            "false_positives": null.specificity_rejections,
            "false_positives_by_metric": null.rejections_by_metric,
            "planted": null.planted_rejections,
            "any_claim": null.any_claim,
        }
    return result


def summarise(results: list[dict], started: float) -> None:
    hits: dict[str, list[bool]] = {}
    for result in results:
        for kind, values in result["hits"].items():
            hits.setdefault(kind, []).extend(values)
    datasets = len(results)
    for kind, values in hits.items():
        print(f"coverage {kind}: {np.mean(values):.3f} ({len(values)} intervals, {sum(kind in r['hits'] for r in results)} datasets)")
    results = [r for r in results if "any_claim" in r]  # the data sets whose null part ran
    if not results:
        print(f"(the null part was not run); {time.perf_counter() - started:.0f} s")
        return
    datasets = len(results)
    false_positives = [v for r in results for v in r["false_positives"]]
    planted = [v for r in results for v in r["planted"]]
    print(f"specificity false-positive rate at alpha = 0.05 under the null: {np.mean(false_positives):.3f} ({len(false_positives)} tests)")
    for metric in sorted({m for r in results for m in r.get("false_positives_by_metric", {})}):
        rejections = [v for r in results for v in r["false_positives_by_metric"].get(metric, [])]
        print(f"  exploratory {metric}: {np.mean(rejections):.3f}")
    print(f"specificity power at alpha = 0.05 on the planted effect: {np.mean(planted):.3f} ({len(planted)} tests)")
    any_claim = np.mean([r["any_claim"] for r in results])
    print(f"false-discovery rate under the global null (any claim significant after adjustment): {any_claim:.3f} ({datasets} datasets)")
    print(f"nominal: coverage 0.95, false-positive rate 0.05, false-discovery rate 0.05; {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log", default=None, help="append one JSON line per data set to this file")
    parser.add_argument("--summarise", nargs="+", default=None, help="print the summary of --log files (together) and stop")
    parser.add_argument("--parts", default=",".join((*COVERAGE_PARTS, "null")), help="comma-separated parts to run: folds, model, seeds, null")
    arguments = parser.parse_args()
    started = time.perf_counter()
    if arguments.summarise:
        results = []
        for name in arguments.summarise:
            with open(name) as log:
                results += [json.loads(line) for line in log if line.strip()]
        summarise(results, started)
        return
    parts = tuple(arguments.parts.split(","))
    unknown = sorted(set(parts) - {*COVERAGE_PARTS, "null"})
    if unknown:
        parser.error(f"--parts has {', '.join(unknown)}: use some of {', '.join((*COVERAGE_PARTS, 'null'))}")
    seeds = range(arguments.seed, arguments.seed + arguments.datasets)
    results = []
    with ProcessPoolExecutor(arguments.workers) as pool:
        for result in pool.map(one, seeds, [arguments.resamples] * len(seeds), [parts] * len(seeds)):
            results.append(result)
            if arguments.log:
                with open(arguments.log, "a") as log:
                    log.write(json.dumps(result) + "\n")
    summarise(results, started)


if __name__ == "__main__":
    main()
