import numpy as np
import pandas as pd
import pytest

import ferlens.analysis.report.directory as report_module
from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.report.directory import write_report
from ferlens.analysis.report.figures import heatmap_grid
from ferlens.analysis.sources import Filters
from ferlens.analysis.sources.local import collect_local
from ferlens.evaluation.localisation.masks import au_family, directory_family, ekman_family
from ferlens.evaluation.localisation.scores import Threshold
from ferlens.formats.heatmap_artifact import read_manifest, write_artifact
from tests.analysis.helpers import CLASSES, make_artifact


def test_report_of_one_network_over_two_folds(tmp_path, monkeypatch):
    make_artifact(tmp_path / "runs" / "a", "weinet", 1, seed=1)
    make_artifact(tmp_path / "runs" / "b", "weinet", 2, seed=2, counts=[1, 2, 3, 4, 5, 6])
    grids = []
    monkeypatch.setattr(report_module, "heatmap_grid", lambda *args: grids.append(args) or heatmap_grid(*args))
    damaged = make_artifact(tmp_path / "runs" / "c", "songnet", 1, seed=3)
    (damaged / "heatmaps.npy").write_bytes(b"x")
    collection = collect_local([tmp_path / "runs"], Filters())
    analysis = analyze_collection(collection, {"ekman": ekman_family(), "au": au_family()}, Threshold("topk", 20), progress=False)
    report = write_report(analysis, tmp_path / "report", "one network", {"source": "test"})
    summary = (report / "summary.md").read_text()
    assert "## IoU · gradcam · test split · ekman masks · mean of the per-fold scores (the study's table)" in summary
    assert "## F1 · gradcam · test split · au masks · scores of the pooled heatmaps" in summary
    assert "threshold: topk(20)" in summary and "heatmap sets read: 2" in summary
    assert "skipped inputs: 1" in summary and "heatmaps.npy' is missing or does not match" in summary
    table = pd.read_csv(report / "tables" / "gradcam__ekman__recall__fold-mean.csv", index_col=0)
    scores = pd.read_csv(report / "scores.csv")
    folds = scores[(scores.metric == "recall") & (scores.mask_family == "ekman") & (scores.fold != "pooled") & (scores.expression == "Sadness")]
    assert sorted(folds.fold.astype(str)) == ["1", "2"] and table.loc["weinet", "Sadness"] == pytest.approx(folds.value.mean(), abs=1e-6)
    # the top 20 % of the pixels can cover at most 0.2 / (mask fraction) of a mask
    for expression, mask in ekman_family().items():
        recalls = scores[(scores.metric == "recall") & (scores.mask_family == "ekman") & (scores.expression == expression)].value
        assert (recalls <= 0.2 / mask.mean() + 1e-3).all() and recalls.max() > 0
    # the heatmap grid gets the pooled counts (fold 1: 10..15, fold 2 as given)
    ((grays, classes, counts, min_count, reliability, _, pooling),) = grids
    assert counts == {"weinet": [11, 13, 15, 17, 19, 21]} and min_count == 1 and len(grays["weinet"]) == len(classes) == 6
    assert reliability is None and pooling is None  # no statistics asked for; pooled by image counts
    # one network: no dendrograms or distance matrices, and the summary says why
    figures = sorted(path.name for path in (report / "figures").iterdir())
    assert figures == ["bars__gradcam__au.png", "bars__gradcam__ekman.png", "heatmaps__gradcam.png", "masks.png"]
    assert not (report / "distances").exists() and pd.read_csv(report / "clustering.csv").empty
    clustering = summary.split("## Clustering (1 - Pearson r between pooled heatmaps, average linkage)\n\n")[1]
    assert clustering.startswith("Dendrograms and distance matrices need at least two networks; this report has one (weinet).\n")


def test_mask_directory_of_plain_names(tmp_path):
    import cv2

    for expression, mask in ekman_family().items():
        cv2.imwrite(str(tmp_path / f"{expression}.png"), mask.astype("uint8") * 255)
    loaded = directory_family(tmp_path)
    assert sorted(loaded) == sorted(ekman_family()) and all((loaded[e] == m).all() for e, m in ekman_family().items())


def test_report_names_empty_classes_first_and_shows_what_cells_rest_on(tmp_path):
    make_artifact(tmp_path / "runs" / "a", "weinet", 1, seed=1, counts=[5, 0, 5, 5, 5, 5])
    make_artifact(tmp_path / "runs" / "b", "weinet", 2, seed=8, counts=[5, 7, 5, 5, 5, 5])
    make_artifact(tmp_path / "runs" / "c", "songnet", 1, seed=3, counts=[0] * 6)
    analysis = analyze_collection(collect_local([tmp_path / "runs"], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    report = write_report(analysis, tmp_path / "report", "empties", {"source": "test"})
    lines = (report / "summary.md").read_text().splitlines()
    assert lines[2].startswith("> **Warning: 13 empty class heatmap(s)** (fewer than min_count=1 images)")
    assert "weinet · gradcam · fold 1: Disgust;" in lines[2]
    assert "songnet · gradcam · fold pooled: Anger, Disgust, Fear, Happiness, Sadness, Surprise." in lines[2]
    summary = "\n".join(lines)
    assert "| weinet | 2 | 1 | 2 | 2 | 2 | 2 |" in summary and "| songnet | 0 | 0 | 0 | 0 | 0 | 0 |" in summary  # folds behind each fold-mean cell
    assert "| weinet | 10 | 7 | 10 | 10 | 10 | 10 |" in summary  # images behind each pooled heatmap
    assert "## Relevance mass accuracy · gradcam · test split · ekman masks · scores of the pooled heatmaps" in summary
    assert "## ROC-AUC · gradcam · test split · ekman masks · mean of the per-fold scores (the study's table)" in summary
    assert "| songnet | (empty) | (empty) |" in summary and "| gradcam · ekman · fold-mean |" in summary
    # songnet is empty everywhere: no expression has two networks to compare
    assert "Dendrograms and distance matrices need at least two networks; gradcam has no expression with two non-empty heatmaps (networks: " in summary
    assert not list((report / "figures").glob("dendrograms__*.png")) and not list((report / "figures").glob("distances__*.png"))
    folds = pd.read_csv(report / "tables" / "gradcam__n__fold-mean.csv", index_col=0)
    assert folds.loc["weinet", "Disgust"] == 1 and folds.loc["songnet", "Anger"] == 0
    table = pd.read_csv(report / "tables" / "gradcam__ekman__roc_auc__fold-mean.csv", index_col=0)
    assert table.loc["songnet"].isna().all() and table.loc["mean", "Fear"] == pytest.approx(table.loc["weinet", "Fear"])
    assert pd.read_csv(report / "clustering.csv").empty


def test_report_of_several_networks_has_dendrograms_naming_the_networks_left_out(tmp_path):
    make_artifact(tmp_path / "runs" / "a", "weinet", 1, seed=1)
    make_artifact(tmp_path / "runs" / "b", "songnet", 1, seed=2, counts=[5, 0, 5, 5, 5, 5])
    make_artifact(tmp_path / "runs" / "c", "silnet", 1, seed=3)
    analysis = analyze_collection(collect_local([tmp_path / "runs"], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    report = write_report(analysis, tmp_path / "report", "three", {"source": "test"})
    summary = (report / "summary.md").read_text()
    (disgust,) = [line for line in summary.splitlines() if line.startswith("| gradcam | Disgust |")]
    assert disgust == "| gradcam | Disgust | n/a (fewer than 3 networks) | {weinet} vs {silnet} | songnet |"  # two left: no cophenetic r
    assert "need at least two networks" not in summary
    assert (report / "figures" / "dendrograms__gradcam.png").stat().st_size > 1000 and (report / "figures" / "distances__gradcam.png").is_file()
    assert len(list((report / "distances").glob("gradcam__*.csv"))) == 6


def test_with_one_fold_per_network_summary_shows_each_table_once(tmp_path):
    """One fold each: the fold-mean tables equal the pooled ones, and summary.md repeated every table."""
    for seed, network in enumerate(("weinet", "songnet", "silnet")):
        make_artifact(tmp_path / "runs" / network, network, 1, seed=seed)
    analysis = analyze_collection(collect_local([tmp_path / "runs"], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    summary = (write_report(analysis, tmp_path / "report", "one fold", {"source": "test"}) / "summary.md").read_text()
    assert "mean of the per-fold scores" not in summary and "folds each fold-mean cell rests on" not in summary
    once = "## IoU · gradcam · test split · ekman masks · scores of the pooled heatmaps (one fold per network: the same as the fold mean, shown once)"
    assert summary.count(once) == 1
    fold_mean = pd.read_csv(tmp_path / "report" / "tables" / "gradcam__ekman__iou__fold-mean.csv", index_col=0)  # the CSVs keep both
    pooled = pd.read_csv(tmp_path / "report" / "tables" / "gradcam__ekman__iou__pooled.csv", index_col=0)
    pd.testing.assert_frame_equal(fold_mean, pooled)


def test_a_class_heatmap_of_zeros_is_named_not_silently_scored(tmp_path):
    """An all-zero class map resting on images was scored 0 with no warning."""
    directory = make_artifact(tmp_path / "runs" / "a", "weinet", 1, seed=1)
    heatmaps = np.load(directory / "heatmaps.npy")
    heatmaps[3] = 0  # Happiness: 13 images, no evidence at all
    write_artifact(directory, heatmaps, [10 + i for i in range(6)], CLASSES, read_manifest(directory))
    make_artifact(tmp_path / "runs" / "b", "songnet", 1, seed=2)
    analysis = analyze_collection(collect_local([tmp_path / "runs"], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    assert analysis.flat_cells() == [("weinet", "gradcam", "1", "Happiness"), ("weinet", "gradcam", "pooled", "Happiness")]  # its fold and the pooled map
    summary = (write_report(analysis, tmp_path / "report", "zeros", {"source": "test"}) / "summary.md").read_text()
    warning = "> **Warning: 2 class heatmap(s) are the same value everywhere** (no evidence; scored as maps with nothing above the threshold)"
    assert f"{warning}: weinet · gradcam · fold 1: Happiness; weinet · gradcam · fold pooled: Happiness." in summary
