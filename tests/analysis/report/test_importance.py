"""The region-importance pass end to end (train.py +importance=au_regions, then analyze.py), and
the report's sentence for a source without networks."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ferlens.analysis.report.importance import NO_NETWORKS, write_importance_report
from ferlens.analysis.statistics import StatisticsSettings
from ferlens.analysis.statistics.importance_analysis import analyze_importance
from ferlens.evaluation.region_importance.intervention import region_names
from ferlens.formats.heatmap_artifact import read_artifact
from ferlens.formats.importance_evidence import read_importance
from tests.conftest import SMALL_DATA, run_train
from tests.test_analyze import run_analyze

PASS = [
    *SMALL_DATA,
    "trainer.max_epochs=1",
    "saliency=[gradcam,gradcampp,ig,occlusion]",  # the four methods of the acceptance
    "callbacks.global_saliency.per_class=2",
    "callbacks.global_saliency.target=label",  # every class explained, whatever a one-epoch network predicts
    "callbacks.global_saliency.faithfulness=null",
    "+importance=au_regions",
    "callbacks.region_importance.draws=2",
    "callbacks.region_importance.progress=false",
    "logger=none",
    "callbacks.progress_bar=null",
    "test=false",
    "model.au_metrics.cam=null",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("importance")
    for seed in (1, 2):
        done = run_train(*PASS, f"seed={seed}", f"hydra.run.dir={root / f'run{seed}'}")
        assert done.returncode == 0, done.stderr[-3000:]
    return root


@pytest.mark.slow
def test_the_pass_stores_every_explained_image_with_its_regions_and_controls(runs):
    evidence = read_importance(runs / "run1" / "importance" / "au_regions")
    heatmaps = read_artifact(runs / "run1" / "heatmaps" / "gradcam").evidence
    assert evidence.regions == region_names() and evidence.control_probability.shape[2] == 2
    assert evidence.index.tolist() == heatmaps.index.tolist()  # the heatmap pass' images, each once
    assert evidence.target.tolist() == heatmaps.target.tolist()
    assert evidence.manifest["weights"]["source"] == "best checkpoint" and evidence.manifest["settings"]["draws"] == 2
    finite = np.isfinite(evidence.probability)
    assert finite.mean() > 0.9 and np.isfinite(evidence.original).all()
    np.testing.assert_array_equal(finite, evidence.area > 0)  # NaN exactly for the regions outside the image


@pytest.mark.slow
def test_analyze_reports_the_profile_the_codebook_test_and_the_explainer_dependence(runs, tmp_path):
    report = tmp_path / "report"
    done = run_analyze(
        "source=local", f"source.paths=[{runs}]", "source.label='{model}-s{seed}'", "statistics.resamples=50", "statistics.permutations=99",
        "progress=false", f"report_dir={report}", f"hydra.run.dir={tmp_path / 'h'}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    profile = pd.read_csv(report / "importance" / "profile.csv")
    assert set(profile.network) == {"smallcnn-s1", "smallcnn-s2"} and set(profile.region) == set(region_names())
    tests = pd.read_csv(report / "importance" / "codebook_tests.csv")
    assert set(tests.network) == {"smallcnn-s1", "smallcnn-s2", "all networks"} and tests.p_adjusted.between(0, 1).all()
    variance = pd.read_csv(report / "importance" / "explainer_variance.csv")
    assert variance.groupby(["mask_family", "metric"]).share.sum().round(10).eq(1).all()
    fidelity = pd.read_csv(report / "importance" / "explainer_fidelity.csv")
    assert set(fidelity.method) == {"gradcam", "gradcampp", "ig", "occlusion"} and fidelity.fidelity.between(-1, 1).all()
    agreement = pd.read_csv(report / "importance" / "explainer_agreement.csv")
    assert (agreement.methods == 4).all() and (agreement.networks == 2).all()
    summary = (report / "summary.md").read_text()
    assert "## Region importance by intervention" in summary and "## How much the conclusions owe to the explainer" in summary
    assert (report / "figures" / "region_importance.png").stat().st_size > 10_000
    page = (report / "report" / "index.html").read_text()
    section = page[page.index('<h2 id="importance">Region importance by intervention</h2>') : page.index('<h2 id="runs">')]
    assert section.count('src="data:image/png;base64,') == 1 and ">adjusted p</th>" in section and "<td>all networks</td>" in section
    assert '<h3 id="explainer-dependence">' in section and ">Kendall&#x27;s W</th>" in section
    assert all(f"<td>{method}</td>" in section for method in ("gradcam", "gradcampp", "ig", "occlusion"))  # the region fidelity per method
    findings = page[page.index('<h2 id="findings">') : page.index("<h2", page.index('<h2 id="findings">') + 1)]
    across = [line for line in findings.split("<p") if "Across saliency methods (" in line]
    assert len(across) == 2 and all("of 1 network orderings, " in line and 'href="#explainer-dependence"' in line for line in across)  # one per family
    flips = pd.read_csv(report / "importance" / "explainer_flips.csv")
    for family in ("ekman", "au"):  # each family's sentence counts the headline metric's (IoU) orderings that hold
        holds = int(((flips.mask_family == family) & (flips.metric == "iou") & (flips.verdict == "holds")).sum())
        assert sum(f"({family} masks, iou): of 1 network orderings, {holds} hold with every saliency method" in line for line in across) == 1


def test_a_source_without_networks_says_so_in_one_sentence(tmp_path):
    analysis = SimpleNamespace(sets=[], methods=["lime"])  # the study's PNGs: no manifest, no run directory
    importance = analyze_importance(analysis, StatisticsSettings(), "paper")
    assert importance.without_networks and importance.results is None and importance.dependence is None
    sections = write_importance_report(importance, tmp_path)  # what summary.md ends with
    assert sections.endswith(NO_NETWORKS + "\n") and not (tmp_path / "importance").exists()
    assert NO_NETWORKS.count(".") == 1 and "source=paper" in NO_NETWORKS
