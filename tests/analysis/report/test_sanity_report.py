import json

import numpy as np

from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.report.directory import write_report
from ferlens.analysis.report.sanity_report import FAITHFULNESS_CAPTION, randomisation_curves
from ferlens.analysis.sanity import FAILS, PASSES, faithfulness_table, randomisation_table
from ferlens.analysis.sources import Filters
from ferlens.analysis.sources.local import collect_local
from ferlens.evaluation.localisation.masks import ekman_family
from ferlens.evaluation.localisation.scores import Threshold
from ferlens.formats.heatmap_artifact import sign_manifest
from tests.analysis.helpers import make_artifact

NORMALISED = ("normalised_deletion_auc", "normalised_insertion_auc", "normalised_road_combined")


def _with_checks(
    directory, deletion: dict[str, tuple[int, float]], spearman: list[float], fails: bool, confidence: float = 1.0, normalised: bool = True
) -> None:
    """Add the sanity entries GlobalSaliency writes to an artifact's manifest (the checksums
    cover the other files): per class (images, normalised deletion AUC); the raw scores are the
    normalised ones times ``confidence``; without ``normalised``, a manifest written before them."""
    manifest = json.loads((directory / "manifest.json").read_text())
    per_class = {name: {"counts": count, "normalised_counts": count, **dict.fromkeys(NORMALISED, value)} for name, (count, value) in deletion.items()}
    for values in per_class.values():
        values.update({name[len("normalised_") :]: confidence * values[name] for name in NORMALISED})
    counts = sum(count for count, _ in deletion.values())
    weights = [values["counts"] for values in per_class.values()]
    overall = {key: float(np.average([values[key] for values in per_class.values()], weights=weights)) for key in next(iter(per_class.values()))}
    overall.update(counts=counts, normalised_counts=counts)
    if not normalised:
        per_class = {name: {key: value for key, value in values.items() if not key.startswith("normalised_")} for name, values in per_class.items()}
        overall = {key: value for key, value in overall.items() if not key.startswith("normalised_")}
    faithfulness = {"steps": 20, "fractions": [0.1, 0.5], "noise": 0.01, "baseline": "black (0)", "per_class": per_class, "overall": overall}
    how = {"normalised": "each image's score divided by its unperturbed target probability"} if normalised else {}
    manifest["faithfulness"] = {**faithfulness, **how}
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
    # weinet: Anger 0.2 in 30 + 0.3 in 10 images of two folds, Happiness 0.6 in 2 images
    _with_checks(make_artifact(tmp_path / "a", "weinet", 1, seed=1), {"Anger": (30, 0.20), "Happiness": (2, 0.6)}, [0.9, 0.4, 0.1], fails=False)
    _with_checks(make_artifact(tmp_path / "b", "weinet", 2, seed=2), {"Anger": (10, 0.30), "Happiness": (0, float("nan"))}, [0.9, 0.4, 0.1], fails=False)
    # edges: the same normalised scores as a network a quarter as sure (raw scores a quarter)
    edges = {"Anger": (40, 0.225), "Happiness": (2, 0.6)}
    _with_checks(make_artifact(tmp_path / "c", "edges", 1, seed=3), edges, [1.0, 0.98, 0.97], fails=True, confidence=0.25)
    _with_checks(make_artifact(tmp_path / "e", "old", 1, seed=5), {"Anger": (8, 0.3)}, [0.9, 0.4, 0.1], fails=False, normalised=False)
    make_artifact(tmp_path / "d", "plain", 1, seed=4)  # an artifact without the checks
    analysis = analyze_collection(collect_local([tmp_path], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    faithful = faithfulness_table(analysis, "gradcam", "ekman")
    assert sorted(faithful.index) == ["edges", "old", "weinet"]  # the one without checks is left out
    deletion = "deletion AUC / p (lower = more faithful)"
    # each class weighs equally (images of all folds within a class): (0.225 + 0.6) / 2, not the image-weighted 0.2357
    assert faithful.loc["weinet", deletion] == faithful.loc["edges", deletion] == ((0.20 * 30 + 0.30 * 10) / 40 + 0.6) / 2
    assert faithful.loc["weinet", "images"] == 42 and np.isnan(faithful.loc["old", deletion])  # written before the normalised scores: n/a
    pooled = analysis.scores[(analysis.scores.network == "weinet") & (analysis.scores.fold == "pooled") & (analysis.scores.metric == "roc_auc")]
    assert faithful.loc["weinet", "roc_auc (ekman)"] == pooled.value.mean()
    randomised = randomisation_table(analysis, "gradcam")
    assert randomised.loc["edges", "verdict"] == FAILS and randomised.loc["weinet", "verdict"] == PASSES
    assert randomised.loc["edges", "Spearman, all layers randomised"] == 0.97 and randomised.loc["weinet", "layers"] == 3
    lines = randomisation_curves(analysis, "gradcam").axes[0].get_lines()
    assert {line.get_label() for line in lines} == {"edges", "old", "weinet", "failure threshold"}
    np.testing.assert_allclose(next(line for line in lines if line.get_label() == "edges").get_ydata(), [1.0, 0.98, 0.97])
    report = write_report(analysis, tmp_path / "report", "checks", {"source": "test"})
    summary = (report / "summary.md").read_text()
    assert f"## Faithfulness · gradcam · test split (beside the localisation scores)\n\n{FAITHFULNESS_CAPTION}" in summary
    assert f"| edges | 3 | 12 | 0.9700 | 0.5000 | 0.9000 | {FAILS} |" in summary
    assert (report / "figures" / "randomisation__gradcam.png").is_file() and FAILS in (report / "report" / "index.html").read_text()
