"""The region-importance statistics on simulated evidence with known population values: a
planted codebook effect is found (profile, own region best, permutation test), its absence
is not, and the group comparison recovers a planted difference."""

import numpy as np
import pandas as pd
import pytest

from ferlens.analysis.statistics.region_importance import POOLED, ImportanceRun, best_regions, compute_region_importance, own_region_best
from ferlens.evaluation.region_importance.intervention import own_regions, region_names
from ferlens.formats.expressions import CLASSES_6
from ferlens.formats.importance_evidence import ImportanceEvidence

REGIONS = region_names(("au",))
#: each class owns two AU regions (a codebook of the test's own, known truth)
CODEBOOK = {"Anger": (1, 2), "Disgust": (9,), "Fear": (5, 7), "Happiness": (12,), "Sadness": (17,), "Surprise": (6,)}
DRAWS = 3


def simulated(effect: float, seed: int, subjects: int = 12, per_subject: int = 1) -> ImportanceEvidence:
    """Evidence whose population excess is ``effect`` on each class' own regions and 0 elsewhere
    (control drops and noise the same for every region)."""
    rng = np.random.default_rng(seed)
    own = np.stack([own_regions(REGIONS, c, CODEBOOK[c]) for c in CLASSES_6])
    target = np.repeat(np.arange(6), subjects * per_subject)
    n = len(target)
    original = rng.uniform(0.6, 0.9, n)
    control = rng.uniform(0.0, 0.1, (n, len(REGIONS), DRAWS))
    drop = control.mean(axis=2) + effect * own[target] + rng.normal(0, 0.05, (n, len(REGIONS)))
    return ImportanceEvidence(
        regions=REGIONS,
        classes=list(CLASSES_6),
        index=np.arange(n),
        target=target,
        label=target,
        prediction=target,
        subject=np.array([f"s{i % subjects:02d}" for i in range(n)]),
        name=np.array([f"sample {i}" for i in range(n)]),
        original=original,
        original_logit=np.log(original),
        probability=original[:, None] - drop,
        logit=np.log(original)[:, None] - drop,
        control_probability=original[:, None, None] - control,
        control_logit=np.log(original)[:, None, None] - control,
        area=np.full((n, len(REGIONS)), 100),
    )


def run(network: str, effect: float, seed: int, pretrained: bool = False) -> ImportanceRun:
    return ImportanceRun(network, "1", "synthetic", pretrained, False, simulated(effect, seed))


@pytest.fixture(scope="module")
def planted():
    runs = [run("trained", 0.3, 0, pretrained=True), run("random", 0.0, 1)]
    return compute_region_importance(runs, CODEBOOK, resamples=400, permutations=999, seed=0)


def test_the_profile_recovers_the_planted_excess_with_intervals(planted):
    profile = planted.profile.set_index(["network", "expression", "region"])
    cell = profile.loc[("trained", "Happiness", "au:AU12/AU15")]
    assert cell.own and cell.low < 0.3 < cell.high and cell.significant and abs(cell.excess - 0.3) < 0.05
    other = profile.loc[("trained", "Happiness", "au:AU1")]
    assert not other.own and other.low < 0 < other.high and not other.significant
    assert len(planted.profile) == 2 * 6 * len(REGIONS)
    assert own_region_best(planted.profile, "trained").all()


def test_the_best_region_is_specific_not_the_one_that_matters_for_every_expression():
    """A region whose removal hurts every expression by 0.5 (the brows, say) on top of each
    expression's own region (0.3): each own region is still the best, as in the codebook test."""
    names = ["class:Anger", "class:Fear", "class:Sadness"]
    excess = 0.5 * np.array([1, 0, 0])[None] + 0.3 * np.eye(3)  # [expression, region]
    rows = [("net", expression.split(":")[1], region, "class", e == r, excess[e, r]) for e, expression in enumerate(names) for r, region in enumerate(names)]
    profile = pd.DataFrame(rows, columns=["network", "expression", "region", "family", "own", "excess"])
    assert own_region_best(profile, "net", family="class").all()
    assert (profile.loc[profile.groupby("expression").excess.idxmax(), "region"] == "class:Anger").all()  # the largest raw excess: the brows, every time
    best = best_regions(profile, family="class")
    assert best.own.all() and best.specific.to_numpy() == pytest.approx([0.2, 0.2, 0.2])


def test_the_codebook_test_finds_the_planted_codebook_and_not_its_absence(planted):
    tests = planted.codebook.set_index("network")
    assert tests.loc["trained", "p_value"] < 0.01 and tests.loc["trained", "p_adjusted"] < 0.05
    assert tests.loc["random", "p_value"] > 0.05
    assert tests.loc[POOLED, "p_value"] < 0.05  # pooled: the trained network's effect halves but stays
    assert tests.loc["trained", "statistic"] == pytest.approx(0.3, abs=0.05)  # own - others on the double-centred matrix
    assert (planted.codebook.permutations == 999).all()


def test_the_group_comparison_recovers_the_planted_difference(planted):
    groups = planted.groups.set_index("comparison")
    difference = groups.loc["pretrained - scratch"]
    assert difference.low < 0.3 < difference.high and difference.low > 0.1
    pair = groups.loc["trained - random"]  # the networks against each other
    assert pair.estimate == pytest.approx(difference.estimate) and pair.low > 0.1
    assert any("AU-guided" in note for note in planted.notes)  # no guided network: said, not computed


def test_the_null_is_calibrated():
    """Under no effect the codebook test's p-values are about uniform: 20 simulated data sets,
    at most 3 below 0.05 (expected 1; P(>= 4) < 0.02 for a uniform p)."""
    below = 0
    for seed in range(20):
        result = compute_region_importance([run("net", 0.0, 100 + seed)], CODEBOOK, resamples=20, permutations=199, seed=seed)
        below += int(result.codebook.p_value.iloc[0] < 0.05)
    assert below <= 3
