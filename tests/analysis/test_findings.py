"""The findings and their words follow the numbers: a made-up analysis, its p-value and
interval changed, flips the verdicts in the paragraph and the verdict table."""

import dataclasses

import pytest

from ferlens.analysis.findings import Estimate, Faithfulness, Test, method_findings
from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.report.findings_text import console_lines, findings_markdown, paragraph, verdict_table
from ferlens.analysis.sources import LocalSource
from ferlens.analysis.sources.base import Filters
from ferlens.analysis.statistics import StatisticsSettings, compute_statistics
from ferlens.evaluation.localisation.masks import load_families
from ferlens.evaluation.localisation.scores import Threshold
from tests.analysis.helpers import blob_maps, make_evidence_artifact


@pytest.fixture(scope="module")
def made_up(tmp_path_factory):
    root = tmp_path_factory.mktemp("findings")
    make_evidence_artifact(root / "runs" / "a", "alpha", class_maps=blob_maps(0), seed=1)
    analysis = analyze_collection(LocalSource(paths=[str(root / "runs")]).collect(Filters()), load_families({"ekman": "ekman"}), Threshold(), progress=False)
    statistics = compute_statistics(analysis, StatisticsSettings(resamples=100, split_halves=20))
    return analysis, statistics


def _with(statistics, p_adjusted: float, low: float, high: float):
    """The statistics with alpha's headline p (adjusted) and its mean alignment interval replaced."""
    permutation, means = statistics.permutation.copy(), statistics.means.copy()
    chosen = (permutation.network == "alpha") & (permutation.metric == "iou")
    permutation.loc[chosen, "p_adjusted"] = p_adjusted
    chosen = (means.network == "alpha") & (means.metric == "iou")
    means.loc[chosen, ["alignment", "alignment_ci_low", "alignment_ci_high"]] = [(low + high) / 2, low, high]
    return dataclasses.replace(statistics, permutation=permutation, means=means)


def test_the_verdicts_follow_the_p_value_and_the_interval(made_up):
    analysis, statistics = made_up
    found = method_findings(analysis, _with(statistics, 0.46, -0.007, 0.015), "gradcam")
    text, table = paragraph(found), verdict_table(found).table
    assert "the maps are not specific to the expression (adjusted p = 0.460)" in text
    assert "the specific alignment +0.004 [-0.007, +0.015] cannot be told from the face prior" in text
    assert table.loc["alpha", "specific? Ekman"] == "no (adjusted p = 0.460)"
    assert table.loc["alpha", "above face prior? Ekman"] == "cannot tell (+0.004 [-0.007, +0.015])"
    flipped = method_findings(analysis, _with(statistics, 0.01, 0.02, 0.05), "gradcam")
    text, table = paragraph(flipped), verdict_table(flipped).table
    assert "the maps are specific to the expression (adjusted p = 0.010)" in text
    assert "the specific alignment +0.035 [+0.020, +0.050] is above the face prior" in text
    assert table.loc["alpha", "specific? Ekman"] == "yes (adjusted p = 0.010)" and table.loc["alpha", "above face prior? Ekman"].startswith("yes")
    # alpha is the FDR setting: at 0.005 the same p is no longer a finding
    strict = dataclasses.replace(flipped, alpha=0.005)
    assert "not specific" in paragraph(strict) and verdict_table(strict).table.loc["alpha", "specific? Ekman"].startswith("no")


def test_the_findings_carry_the_statistics_numbers(made_up):
    analysis, statistics = made_up
    found = method_findings(analysis, statistics, "gradcam")
    (verdict,) = found.verdicts
    claim = statistics.claims[(statistics.claims.metric == "iou") & statistics.claims.claim.str.startswith("alpha")].iloc[0]
    assert verdict.specificity["ekman"] == Test(claim.p_value, claim.p_adjusted)
    mean = statistics.means[(statistics.means.network == "alpha") & (statistics.means.metric == "iou")].iloc[0]
    expected = Estimate(mean.alignment, mean.alignment_ci_low, mean.alignment_ci_high)
    assert dataclasses.astuple(verdict.alignment["ekman"]) == pytest.approx(dataclasses.astuple(expected), nan_ok=True)
    assert verdict.reliability == pytest.approx(statistics.reliability.reliability.min())
    reliable = "reliable" if verdict.reliability >= 0.8 else "not reliable"
    assert f"The maps are {reliable} (lowest split-half {verdict.reliability:.3f}, bar 0.8)" in paragraph(found)
    # one text for summary.md, the page and the console
    assert paragraph(found) in "\n".join(findings_markdown([found])) and console_lines([found]) == [f"Findings: {paragraph(found)}"]


def test_faithful_means_better_than_the_random_maps_on_deletion_and_road():
    assert Faithfulness(0.2, 0.10, random_deletion=0.3, random_road=0.05).faithful is True
    assert Faithfulness(0.35, 0.10, random_deletion=0.3, random_road=0.05).faithful is False  # deletion worse than random maps
    assert Faithfulness(0.2, 0.01, random_deletion=0.3, random_road=0.05).faithful is False  # ROAD worse
    assert Faithfulness(0.2, 0.10).faithful is None  # no random-map reference


def test_an_interval_below_zero_and_a_missing_interval_say_so():
    assert Estimate(-0.02, -0.03, -0.01).sign == -1 and Estimate(0.01, -0.01, 0.02).sign == 0 and Estimate(0.01).sign is None
    assert Test(0.2, float("nan")).significant(0.05) is None and Test(0.01, 0.049).significant(0.05) is True


def test_randomisation_and_faithfulness_verdicts_come_from_the_artifacts_checks(tmp_path):
    from ferlens.analysis.sources.local import collect_local
    from ferlens.evaluation.localisation.masks import ekman_family
    from tests.analysis.helpers import make_artifact
    from tests.analysis.report.test_sanity_report import _with_checks

    _with_checks(make_artifact(tmp_path / "a", "weinet", 1, seed=1), {"Anger": (30, 0.2), "Happiness": (2, 0.6)}, [0.9, 0.4, 0.1], fails=False)
    _with_checks(make_artifact(tmp_path / "b", "edges", 1, seed=2), {"Anger": (30, 0.2)}, [1.0, 0.98, 0.97], fails=True)
    # weinet's random maps: deletion worse (0.5 > 0.4), ROAD better (0.5 > 0.4): not faithful beyond random maps
    _with_checks(make_artifact(tmp_path / "r", "weinet", 1, method="random_cam", seed=3), {"Anger": (30, 0.5), "Happiness": (2, 0.5)}, [0.2], fails=False)
    analysis = analyze_collection(collect_local([tmp_path], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    statistics = compute_statistics(analysis, StatisticsSettings(resamples=20, permutations=20, linkages=("average",)))
    found = method_findings(analysis, statistics, "gradcam")
    verdicts = {v.network: v for v in found.verdicts}
    assert verdicts["weinet"].randomisation is True and verdicts["edges"].randomisation is False and found.randomisation_threshold == 0.5
    assert verdicts["weinet"].faithfulness == Faithfulness(0.4, 0.4, 0.5, 0.5) and verdicts["weinet"].faithfulness.faithful is False
    assert verdicts["edges"].faithfulness.faithful is None  # no random_cam maps of edges
    table = verdict_table(found).table
    assert table.loc["weinet", "passes randomisation?"] == "passes" and table.loc["edges", "passes randomisation?"] == "fails"
    assert table.loc["weinet", "faithful?"] == "no" and table.loc["edges", "faithful?"] == "no random-map reference"
    assert "1 of 2 pass the randomisation check (fail: edges)" in paragraph(found)
