"""The known-truth simulation (``simulation.py``) and a small version of ``benchmarks/bench_coverage.py``."""

import numpy as np
import pytest

from ferlens.analysis.statistics.simulation import CLASSES, SimulationSettings, coverage_of_dataset, evidence_masks, null_of_dataset, simulate


def test_the_simulated_truth_is_what_many_subjects_converge_to():
    data = simulate(SimulationSettings(folds=1, subjects=600, training_sd=0.0), np.random.default_rng(0))
    heatmap_set = data.sets[0]
    masks = evidence_masks().reshape(len(CLASSES), -1)
    for c, name in enumerate(CLASSES):
        maps = heatmap_set.evidence.values(np.flatnonzero(heatmap_set.evidence.target == c))  # [n, 3080]
        mass = float((maps.mean(axis=0) * masks[c]).sum() / maps.mean(axis=0).sum())
        assert mass == pytest.approx(data.truth["given models", "net0", name, "mass_accuracy"], abs=0.004), name
        assert data.truth["given models", "net0", name, "mass_accuracy"] == pytest.approx(data.truth["architecture", "net0", name, "mass_accuracy"])
    assert data.truth["architecture", "net0", "Surprise", "ncc"] < 0 < data.truth["architecture", "net0", "Anger", "ncc"]  # both signs
    sizes = np.bincount(heatmap_set.evidence.target, minlength=6)
    assert sizes[1] < sizes[4] < sizes[0] < sizes[3]  # unequal classes; Disgust, shown by half of the subjects, the smallest


def test_the_networks_differ_by_the_planted_shift_and_folds_by_training():
    data = simulate(SimulationSettings(folds=3, subjects=4, network_shift=3.0), np.random.default_rng(1))
    assert len(data.sets) == 6 and {s.fold for s in data.sets} == {1, 2, 3}
    first = np.mean([data.truth["architecture", "net0", c, "mass_accuracy"] for c in CLASSES])
    second = np.mean([data.truth["architecture", "net1", c, "mass_accuracy"] for c in CLASSES])
    assert abs(first - second) > 0.002  # a known, non-zero difference
    assert data.sets[0].evidence.subject[0] == data.sets[3].evidence.subject[0]  # both networks see the same faces


@pytest.mark.slow
def test_a_small_coverage_run_covers_and_the_tests_hold_their_level():
    hits: dict[str, list[bool]] = {}
    false_positives, planted = [], []
    for seed in range(4):
        for kind, values in coverage_of_dataset(seed, resamples=400).items():
            hits.setdefault(kind, []).extend(values)
        null = null_of_dataset(seed, resamples=100)
        false_positives += null.specificity_rejections
        planted += null.planted_rejections
    everything = [hit for values in hits.values() for hit in values]
    assert {"network mean (over seeds)", "network difference (over seeds)", "network difference (over folds)"} <= set(hits)
    cells = hits["cell (mass_accuracy)"] + hits["cell (ncc)"]
    assert np.mean(cells) >= 0.85 and np.mean(everything) >= 0.85  # 96 cells and 44 other intervals of 4 data sets
    assert np.mean(false_positives) <= 0.25 and np.mean(planted) >= 0.5
