"""The seed level (``seeds.py``): several seeds of one architecture on the same faces."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2
from scipy.stats import t as student_t

from ferlens.analysis.heatmap_set import HeatmapSet
from ferlens.analysis.report.directory import write_report
from ferlens.analysis.statistics.seeds import seed_groups, seed_interval, shared_variance
from ferlens.analysis.statistics.simulation import CLASSES, HEADLINE, SimulationSettings, analyse, simulate
from ferlens.formats.manifest import RunInfo


def test_the_interval_of_seeds_and_shared_faces_covers_95_percent_of_known_truths():
    """Y_s = theta + T_s + F + e_s: S = 3 seeds (training SD 1), faces F (SD 0.5) shared by the
    seeds, seed x face e_s (SD 0.6); each seed's bootstrap replicates vary by the faces and its
    own interaction (one draw for all seeds: F* shared, e_s* its own)."""
    rng = np.random.default_rng(0)
    hits, t_only, bootstrap_only, doubled = [], [], [], []
    for _ in range(4000):
        training, faces, interaction = rng.normal(0, 1.0, 3), rng.normal(0, 0.5), rng.normal(0, 0.6, 3)
        values = 0.3 + training + faces + interaction
        replicates = values[:, None] + rng.normal(0, 0.5, 400)[None] + rng.normal(0, 0.6, (3, 400))
        result = seed_interval([values], [replicates], 0.95)
        hits.append(result.ci_low <= 0.3 <= result.ci_high)
        half = 4.303 * values.std(ddof=1) / np.sqrt(3)  # t over the seeds alone: misses the faces
        t_only.append(abs(values.mean() - 0.3) <= half)
        spread = replicates.mean(axis=0).std(ddof=1)  # the seed-mean's replicates
        bootstrap_only.append(abs(values.mean() - 0.3) <= 1.96 * spread)  # the faces alone: misses the training
        doubled.append(abs(values.mean() - 0.3) <= 1.96 * np.sqrt(spread**2 + values.var(ddof=1) / 3))  # the interaction counted twice
    assert 0.94 <= np.mean(hits) <= 0.97, np.mean(hits)  # measured 0.962 (0.948-0.967 over other mixes of the three variances)
    assert np.mean(bootstrap_only) < 0.85 and np.mean(t_only) < 0.93  # either level alone under-covers


def test_the_shared_variance_is_the_covariance_between_seeds_not_their_interaction():
    rng = np.random.default_rng(2)
    faces, own = rng.normal(0, 0.3, 100_000), rng.normal(0, 1.0, (2, 100_000))
    first, second = 1.0 + faces + own[0], 2.0 + faces + own[1]  # two seeds sharing the faces (variance 0.09)
    assert shared_variance([np.stack([first, second])], (1.0,)) == pytest.approx(0.09, abs=0.01)
    other = rng.normal(0, 0.2, (2, 100_000)) + 0.5 * faces  # another architecture, faces acting half as much
    assert shared_variance([np.stack([first, second]), other], (1.0, -1.0)) == pytest.approx(0.09 * 0.25, abs=0.01)  # (1 - 0.5)^2 x 0.09


def test_a_difference_of_two_architectures_adds_both_training_terms():
    first, second = np.array([1.0, 1.2, 1.4]), np.array([0.5, 0.6])
    rng = np.random.default_rng(1)
    faces = rng.normal(0.0, 0.1, 2000)
    replicates = [first[:, None] + faces + rng.normal(0, 0.05, (3, 2000)), second[:, None] + rng.normal(0, 0.05, (2, 2000))]
    result = seed_interval([first, second], replicates, 0.95, (1.0, -1.0))
    assert result.value == pytest.approx(1.2 - 0.55)
    assert result.seeds_se == pytest.approx(np.sqrt(0.04 / 3 + 0.005 / 2))
    assert result.faces_se == pytest.approx(0.1, rel=0.1)  # the first's faces, which the second does not share
    variance = 0.04 / 3 + 0.005 / 2 + result.faces_se**2
    upper_first, upper_second = 0.04 / 3 * 2 / chi2.ppf(0.25, 2), 0.005 / 2 * 1 / chi2.ppf(0.25, 1)  # each seed term at its 75 % upper bound
    df = (upper_first + upper_second + result.faces_se**2) ** 2 / (upper_first**2 / 2 + upper_second**2 / 1)
    assert result.df == pytest.approx(df)
    assert result.ci_high - result.ci_low == pytest.approx(2 * student_t.ppf(0.975, df) * np.sqrt(variance))


def _set(network: str, model: str, seed: int, fold: int = 1, pretrained: bool = False, guidance: float | None = None) -> HeatmapSet:
    run = RunInfo(model=model, pretrained=pretrained, fold=fold, seed=seed, epoch=0, dataset="d", au_guidance=guidance)
    return HeatmapSet(network, "m", "pooled", list(CLASSES), np.zeros((6, 2, 2), np.float32), folds_run=run)


def test_seeds_of_one_architecture_are_grouped_and_nothing_else():
    sets = [
        _set("a-s0", "a", 0), _set("a-s1", "a", 1), _set("a-s2", "a", 2),  # one architecture, three seeds
        _set("a-pre", "a", 0, pretrained=True),  # pretrained: another architecture with one seed
        _set("a+AU-s0", "a", 0, guidance=0.5), _set("a+AU-s1", "a", 1, guidance=0.5),  # guided: its own group
        _set("b-s0", "b", 0), _set("b-s1", "b", 1),  # b, but its networks pool several folds
    ]  # fmt: skip
    groups = seed_groups(sets, {"b-s0": 5, "b-s1": 5})
    assert {g.label: g.members for g in groups} == {"a (scratch)": (0, 1, 2), "a+AU0.5 (scratch)": (4, 5)}
    two_folds = [_set("c1-s0", "c", 0, fold=1), _set("c1-s1", "c", 1, fold=1), _set("c2-s0", "c", 0, fold=2), _set("c2-s1", "c", 1, fold=2)]
    labels = [g.label for g in seed_groups(two_folds, {})]  # the same architecture on two folds: two groups, told apart by their labels
    assert labels == ["c (scratch) [d, fold 1]", "c (scratch) [d, fold 2]"]


@pytest.fixture(scope="module")
def simulated():
    """Two architectures, three seeds each, on the same eight subjects per class."""
    data = simulate(SimulationSettings(folds=1, seeds=3, subjects=8), np.random.default_rng((0, 3)))
    analysis, statistics = analyse(data, 200, 0)
    return data, analysis, statistics


def test_the_seed_table_of_a_simulated_run_averages_the_seeds_and_covers_the_architecture(simulated):
    data, _, statistics = simulated
    table = statistics.seeds[statistics.seeds.metric == HEADLINE].set_index(["architecture", "other"])
    means = statistics.means[statistics.means.metric == HEADLINE].set_index("network").value
    first, second = table.loc[("net0 (scratch)", "")], table.loc[("net1 (scratch)", "")]
    assert first.value == pytest.approx(np.mean([means[f"net0-s{r}"] for r in range(3)]))
    assert first.seeds == "3" and "3 seeds" in first.level and first.faces_se > 0 and first.seeds_se > 0
    difference = table.loc[("net0 (scratch)", "net1 (scratch)")]
    assert difference.value == pytest.approx(first.value - second.value)
    assert difference.faces_se < first.faces_se  # the shared faces cancel in the paired difference
    claim = statistics.claims[statistics.claims.table == "seeds"]  # the difference is a claim, adjusted with the others
    assert list(claim.claim) == ["net0 (scratch) - net1 (scratch) (over seeds)"] and claim.p_adjusted.iloc[0] == pytest.approx(difference.p_adjusted)
    assert np.isnan(first.p_adjusted)  # a mean is no claim
    truth = np.mean([data.truth["architecture", "net0", c, HEADLINE] for c in CLASSES])
    assert first.ci_low <= truth <= first.ci_high


def test_the_report_gives_the_means_over_seeds(simulated, tmp_path):
    _, analysis, statistics = simulated
    directory = write_report(analysis, tmp_path / "report", "seeds", {"source": "simulated"}, statistics)
    written = pd.read_csv(directory / "statistics" / "seeds.csv", keep_default_na=False)
    assert len(written[written.metric == HEADLINE]) == 3  # two architectures and their difference
    summary = (directory / "summary.md").read_text()
    assert "### Means over seeds · mass_accuracy" in summary and "| net0 (scratch) - net1 (scratch) |" in summary
    assert "means over seeds" in (directory / "report" / "index.html").read_text()
