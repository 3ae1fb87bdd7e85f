"""Do ferlens' 95 % intervals cover the truth 95 % of the time? Its tests hold their level?

Simulates data sets with known population values (``ferlens.analysis.statistics.simulation``:
subjects with random effects seen by every network, five folds with training variance,
negative and positive NCC, unequal class sizes, a small cell), runs the real analysis
(``analyze_collection`` + ``compute_statistics``) on each, and prints one line per interval kind:

    coverage <kind>: <share> (<N> intervals, <D> datasets)

for cells (given the trained models), network means, network differences and the grand mean
(given one trained model, and over folds: the architecture), and fold-level means; then the
specificity test's false-positive rate under the null, its power on a planted effect, and the
false-discovery rate under the global null (any significant claim when nothing is true).
The baseline it is measured against is the nominal level itself (0.95; alpha = 0.05).

    python benchmarks/bench_coverage.py [--datasets N] [--resamples R] [--seed S]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ferlens.analysis.statistics.simulation import coverage_of_dataset, null_of_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    started = time.perf_counter()
    hits: dict[str, list[bool]] = {}
    false_positives, powers, any_claims = [], [], []
    for d in range(arguments.datasets):
        for kind, values in coverage_of_dataset(arguments.seed + d, arguments.resamples).items():
            hits.setdefault(kind, []).extend(values)
        null = null_of_dataset(arguments.seed + d, arguments.resamples)
        false_positives += null.specificity_rejections
        powers += null.planted_rejections
        any_claims.append(null.any_claim)
    for kind, values in hits.items():
        print(f"coverage {kind}: {np.mean(values):.3f} ({len(values)} intervals, {arguments.datasets} datasets)")
    print(f"specificity false-positive rate at alpha = 0.05 under the null: {np.mean(false_positives):.3f} ({len(false_positives)} tests)")
    print(f"specificity power at alpha = 0.05 on the planted effect: {np.mean(powers):.3f} ({len(powers)} tests)")
    print(f"false-discovery rate under the global null (any claim significant after adjustment): {np.mean(any_claims):.3f} ({len(any_claims)} datasets)")
    print(f"nominal: coverage 0.95, false-positive rate 0.05; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
