import json

import numpy as np

from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.report import write_report
from ferlens.analysis.sanity_report import FAILS, PASSES, faithfulness_table, randomisation_curves, randomisation_table
from ferlens.analysis.sources import Filters
from ferlens.analysis.sources.local import collect_local
from ferlens.formats.heatmap_artifact import sign_manifest
from ferlens.scoring.masks import ekman_family
from ferlens.scoring.scores import Threshold
from tests.analysis.helpers import make_artifact


def _with_checks(directory, deletion: float, spearman: list[float], fails: bool, counts: int = 30) -> None:
    """Add the sanity entries GlobalSaliency writes to an artifact's manifest (the checksums cover the other files)."""
    manifest = json.loads((directory / "manifest.json").read_text())
    overall = {"deletion_auc": deletion, "insertion_auc": 0.6, "road_combined": 0.2, "counts": counts}
    manifest["faithfulness"] = {"steps": 20, "fractions": [0.1, 0.5], "noise": 0.01, "baseline": "black (0)", "per_class": {}, "overall": overall}
    manifest["randomisation"] = {
        "layers": [f"layer{i}" for i in range(len(spearman))],
        "skipped": [],
        "draws": 1,
        "threshold": 0.5,
        "per_class": {},
        "fully_randomised_spearman": spearman[-1],
        "fails": fails,
        "overall": {"cascading_spearman": spearman, "cascading_ssim": [0.5] * len(spearman), "independent_spearman": [0.9] * len(spearman), "counts": 12},
    }
    (directory / "manifest.json").write_text(json.dumps(sign_manifest(manifest)))


def test_faithfulness_beside_localisation_and_the_randomisation_verdict_per_network(tmp_path):
    _with_checks(make_artifact(tmp_path / "a", "weinet", 1, seed=1), 0.20, [0.9, 0.4, 0.1], fails=False, counts=30)
    _with_checks(make_artifact(tmp_path / "b", "weinet", 2, seed=2), 0.30, [0.9, 0.4, 0.1], fails=False, counts=10)
    _with_checks(make_artifact(tmp_path / "c", "edges", 1, seed=3), 0.45, [1.0, 0.98, 0.97], fails=True)
    make_artifact(tmp_path / "d", "plain", 1, seed=4)  # an artifact without the checks
    analysis = analyze_collection(collect_local([tmp_path], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    faithful = faithfulness_table(analysis, "gradcam", "ekman")
    assert sorted(faithful.index) == ["edges", "weinet"]  # the one without checks is left out
    assert faithful.loc["weinet", "deletion AUC (lower = more faithful)"] == (0.20 * 30 + 0.30 * 10) / 40  # image-weighted over the folds
    assert faithful.loc["weinet", "images"] == 40
    pooled = analysis.scores[(analysis.scores.network == "weinet") & (analysis.scores.fold == "pooled") & (analysis.scores.metric == "roc_auc")]
    assert faithful.loc["weinet", "roc_auc (ekman)"] == pooled.value.mean()
    randomised = randomisation_table(analysis, "gradcam")
    assert randomised.loc["edges", "verdict"] == FAILS and randomised.loc["weinet", "verdict"] == PASSES
    assert randomised.loc["edges", "Spearman, all layers randomised"] == 0.97 and randomised.loc["weinet", "layers"] == 3
    lines = randomisation_curves(analysis, "gradcam").axes[0].get_lines()
    assert {line.get_label() for line in lines} == {"edges", "weinet", "failure threshold"}
    np.testing.assert_allclose(next(line for line in lines if line.get_label() == "edges").get_ydata(), [1.0, 0.98, 0.97])
    report = write_report(analysis, tmp_path / "report", "checks", {"source": "test"})
    summary = (report / "summary.md").read_text()
    assert "## Faithfulness · gradcam · test split (beside the localisation scores)" in summary
    assert f"| edges | 3 | 12 | 0.9700 | 0.5000 | 0.9000 | {FAILS} |" in summary
    assert (report / "figures" / "randomisation__gradcam.png").is_file() and FAILS in (report / "report" / "index.html").read_text()
