"""analyze.py as a user runs it: the study's table reproduced, and train -> analyze end to end."""

from __future__ import annotations

import csv
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ferlens.evaluation.localisation.scores import METRICS, Threshold, score_heatmap
from ferlens.faces.ekman_masks import ekman_mask
from ferlens.formats.heatmap_artifact import read_artifact, stretch
from tests.analysis.helpers import blob_maps, make_artifact, make_run, write_paper_layout
from tests.conftest import REFERENCE, ROOT, SMALL_DATA, run_train

EXPRESSIONS = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]


def run_analyze(*overrides: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    environment = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    return subprocess.run([sys.executable, str(ROOT / "analyze.py"), *overrides], cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def paper_report(reference_dir, tmp_path_factory) -> Path:
    """source=paper with its default root, run from outside the repository: the vendored heatmaps are found all the same."""
    report = tmp_path_factory.mktemp("paper") / "report"
    done = run_analyze(
        "source=paper",
        f"masks.ekman={reference_dir / 'gt'}",
        f"report_dir={report}",
        "progress=false",
        "hydra.run.dir=" + str(report.parent / "hydra"),
        cwd=report.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Report written to {report} (12 heatmap sets, 0 skipped)" in done.stdout
    # the console's end lines carry the findings paragraph of summary.md and the page
    (finding,) = [line.split("Findings: ", 1)[1] for line in done.stdout.splitlines() if "Findings: " in line]
    assert finding.startswith("lime (split not recorded), 12 networks.") and finding in (report / "summary.md").read_text()
    assert html.escape(finding) in (report / "report" / "index.html").read_text()
    return report


def test_paper_heatmaps_reproduce_the_study_table(paper_report, reference_dir):
    scores = pd.read_csv(paper_report / "scores.csv")
    assert list(scores.columns) == ["network", "fold", "method", "expression", "mask_family", "metric", "value"]
    ours = scores[(scores.mask_family == "ekman") & (scores.fold == "pooled")].set_index(["network", "expression", "metric"])["value"]
    with open(reference_dir / "expected_by_net.csv") as file:
        expected = list(csv.DictReader(file))
    assert len(expected) == 72
    for row in expected:
        for metric in ("iou", "f1", "precision", "recall"):
            assert ours[row["network"], row["expression"], metric] == pytest.approx(float(row[metric]), abs=1e-4), (row, metric)
    # the study's headline figures: best ResNet50 0.3269, worst AlexNet 0.2066, grand mean 0.2689
    table = pd.read_csv(paper_report / "tables" / "lime__ekman__iou__pooled.csv", index_col=0)
    assert table["mean"].drop("mean").idxmax() == "ResNet50" and table.loc["ResNet50", "mean"] == pytest.approx(0.3269, abs=1e-4)
    assert table["mean"].drop("mean").idxmin() == "AlexNet" and table.loc["AlexNet", "mean"] == pytest.approx(0.2066, abs=1e-4)
    assert table.loc["mean", "mean"] == pytest.approx(0.2689, abs=1e-4)
    summary = (paper_report / "summary.md").read_text()
    assert "| ResNet50 | 0.1944 | 0.5156 | 0.2226 | 0.2797 | 0.4236 | 0.3252 | 0.3269 |" in summary
    assert "| **mean** |" in summary and "skipped inputs: 0" in summary
    assert f"- source: paper ({REFERENCE / 'heatmaps_by_net'})" in summary and "Warning" not in summary
    assert "Not known: the source gives no image counts." in summary  # the study's PNGs carry no counts


def test_paper_localisation_metrics(paper_report, reference_dir):
    from sklearn.metrics import roc_auc_score

    # grand means over the 12 networks' pooled heatmaps, per mask family (measured)
    measured = {
        "ekman": {"mass_accuracy": 0.3558, "rank_accuracy": 0.4292, "pointing_game": 0.4583, "roc_auc": 0.7036},
        "au": {"mass_accuracy": 0.3018, "rank_accuracy": 0.4139, "pointing_game": 0.5972, "roc_auc": 0.7496},  # AU10 at the lip midpoints
    }
    for family, metrics in measured.items():
        for metric, value in metrics.items():
            table = pd.read_csv(paper_report / "tables" / f"lime__{family}__{metric}__pooled.csv", index_col=0)
            assert table.loc["mean", "mean"] == pytest.approx(value, abs=1e-4), (family, metric)
    assert "| lime · ekman · pooled | 0.2689 |" in (paper_report / "summary.md").read_text()
    scores = pd.read_csv(paper_report / "scores.csv").set_index(["network", "expression", "mask_family", "metric"])["value"]
    for network, expression in (("ResNet50", "Disgust"), ("AlexNet", "Fear"), ("WeiNet", "Surprise")):
        gray = cv2.imread(str(reference_dir / "heatmaps_by_net" / f"{network}_{expression}_heatmap.png"), cv2.IMREAD_GRAYSCALE).ravel()
        mask = cv2.imread(str(reference_dir / "gt" / f"{expression}_gt.png"), cv2.IMREAD_GRAYSCALE).ravel() > 127
        assert scores[network, expression, "ekman", "roc_auc"] == pytest.approx(roc_auc_score(mask, gray), abs=1e-6)
        assert scores[network, expression, "ekman", "mass_accuracy"] == pytest.approx(gray[mask].sum() / gray.sum(), abs=1e-6)
        assert scores[network, expression, "ekman", "pointing_game"] == float(mask[gray == gray.max()].all())


def test_paper_distances_are_one_minus_pearson(paper_report, reference_dir):
    for expression in EXPRESSIONS:
        distances = pd.read_csv(paper_report / "distances" / f"lime__{expression}.csv", index_col=0)
        images = np.stack(
            [cv2.imread(str(reference_dir / "heatmaps_by_net" / f"{net}_{expression}_heatmap.png"), 0).ravel() for net in distances.index]
        ).astype(float)
        assert np.allclose(distances.values, 1 - np.corrcoef(images), atol=1e-6)
    clustering = pd.read_csv(paper_report / "clustering.csv")
    assert len(clustering) == 6 and clustering.cophenetic.between(0.5, 1).all()
    # the study's finding: pretrained and from-scratch networks form the two main clusters
    scratch = "{AlexNet, SilNet, SongNet, WeiNet}"
    assert (clustering.groups.str.startswith(scratch + " vs ") | clustering.groups.str.endswith(" vs " + scratch)).sum() >= 4
    for name in ("heatmaps__lime", "masks", "bars__lime__ekman", "bars__lime__au", "dendrograms__lime", "distances__lime"):
        image = cv2.imread(str(paper_report / "figures" / f"{name}.png"))
        assert image is not None and image.std() > 10, name
    grid = cv2.imread(str(paper_report / "figures" / "heatmaps__lime.png"))
    assert grid.shape[0] > grid.shape[1] * 2  # 12 networks in rows, 6 expressions in columns


def test_paper_statistics_specificity_baselines_permutations_and_rank_stability(paper_report):
    """Issue 22's measurements on the study's 72 pooled heatmaps (no per-image evidence in PNGs)."""
    folder = paper_report / "statistics"
    specificity = pd.read_csv(folder / "specificity.csv")
    ekman = specificity[specificity.mask_family == "ekman"]
    best = {metric: int((ekman[ekman.metric == metric]["rank"] == 1).sum()) for metric in ("iou", "mass_accuracy", "roc_auc")}
    assert best == {"iou": 11, "mass_accuracy": 14, "roc_auc": 19}  # ranks on the double-centred matrices; chance is 12 of 72
    iou = ekman[ekman.metric == "iou"]
    assert (iou.matched - iou.mean_other).mean() == pytest.approx(0.0066, abs=5e-4)
    tests = pd.read_csv(folder / "permutation.csv")
    per_network = tests[(tests.network != "all networks") & (tests.mask_family == "ekman")]
    assert len(per_network[per_network.metric == "iou"]) == 12 and per_network.exact.all() and (per_network.permutations == 720).all()
    pooled = tests[(tests.network == "all networks") & (tests.mask_family == "ekman")].set_index("metric")
    assert pooled.exact.all() and (pooled.permutations == 720).all() and (pooled.p_value > 0.05).all()  # one assignment for all networks: exact
    baselines = pd.read_csv(folder / "baselines.csv")
    centre = baselines[(baselines.baseline == "centre-bias Gaussian") & (baselines.mask_family == "ekman") & (baselines.metric == "iou")]
    assert len(centre) == 6 and centre.value.mean() > 0.2689  # a Gaussian at the centre beats the networks' mean IoU
    assert len(baselines[(baselines.baseline == "face prior") & (baselines.metric == "iou") & (baselines.mask_family == "ekman")]) == 72
    means = pd.read_csv(folder / "means.csv")
    iou_means = means[(means.mask_family == "ekman") & (means.metric == "iou")].set_index("network")
    assert means.ci_low.isna().all() and means.first_share.isna().all()  # no faces to resample and no folds: the PNGs carry no per-image evidence
    over = iou_means.drop("grand mean")
    assert (over.expressions == 6).all() and (over.expressions_ci_low < over.value).all() and (over.value < over.expressions_ci_high).all()  # t over 6
    claims = pd.read_csv(folder / "claims.csv")
    assert set(claims.metric.dropna()) <= {"iou", "-"} and claims.p_adjusted.ge(claims.p_value - 1e-12).all()  # the headline metric only, adjusted up
    groups = pd.read_csv(folder / "groups.csv")
    assert len(groups) == 7 and np.allclose(groups.p_value, 1 / 495, atol=1e-6) and groups.exact.all()  # C(12, 4) splits, all exact
    assert groups.p_adjusted.notna().all() and (groups.p_adjusted < 0.05).all()  # claims, still significant after the adjustment
    clusters = pd.read_csv(folder / "clusters.csv")
    assert set(clusters.linkage) == {"average", "complete", "ward"} and (clusters.resampling == "pixel blocks of 11x8").all()
    summary = (paper_report / "summary.md").read_text()
    assert "### Specificity · iou · lime · split not recorded · ekman masks" in summary and "| all networks |" in summary and "11/72" in summary
    assert "not available: re-explain with ferlens >= 0.2.0" in summary
    page = (paper_report / "report" / "index.html").read_text()
    needles = ("specific alignment", "centre-bias Gaussian", "uniform face", "ranks first", "(exact, 720; adjusted", "over expressions (t)")
    for needle in (*needles, "cluster stability", '">ward</th>'):
        assert needle in page, needle


def test_a_random_weights_baseline_and_equal_weight_pooling_are_named(tmp_path):
    make_artifact(tmp_path / "trained", "weinet", 1, seed=1)
    make_artifact(tmp_path / "random", "weinet", 1, seed=2)  # e.g. python train.py train=false ...
    report = tmp_path / "report"
    common = ["source=local", f"source.paths=[{tmp_path / 'trained'}]", "statistics.resamples=50", "progress=false", f"hydra.run.dir={tmp_path / 'h'}"]
    done = run_analyze(*common, f"baseline=[{tmp_path / 'random'}]", f"report_dir={report}")
    assert done.returncode == 0, done.stderr[-3000:]
    baselines = pd.read_csv(report / "statistics" / "baselines.csv")
    random = baselines[(baselines.baseline == "random weights") & (baselines.metric == "iou") & (baselines.mask_family == "ekman")]
    assert list(random.network.unique()) == ["weinet"] and len(random) == 6
    assert "| weinet: random weights |" in (report / "summary.md").read_text()
    make_artifact(tmp_path / "other", "songnet", 1)
    wrong = run_analyze(*common, f"baseline=[{tmp_path / 'other'}]", f"report_dir={tmp_path / 'wrong'}")
    assert wrong.stderr.strip().splitlines()[-1] == (
        "Error: baseline heatmaps songnet · gradcam match no analysed network and method (weinet · gradcam): give random-weights runs of the same networks."
    )
    # per-fold PNGs without image counts: the pooled heatmap is labelled for what it is, and the run warns once
    write_paper_layout(tmp_path / "png", {("Net", 1): blob_maps(1), ("Net", 2): blob_maps(2)})
    paper = ["source=paper", f"source.root={tmp_path / 'png'}", "statistics.enabled=false"]
    pooled = run_analyze(*paper, f"report_dir={tmp_path / 'p'}", f"hydra.run.dir={tmp_path / 'h'}")
    assert pooled.returncode == 0, pooled.stderr[-3000:]
    summary = (tmp_path / "p" / "summary.md").read_text()
    assert "**Note: the pooled heatmaps of lime are the equal-weight mean of the per-fold stretched PNGs (not the study's pooled heatmap)**" in summary
    assert "scores of the pooled heatmaps (equal-weight mean of the per-fold stretched PNGs (not the study's pooled heatmap))" in summary
    assert (pooled.stdout + pooled.stderr).count("give no image counts") == 1 and not (tmp_path / "p" / "statistics").exists()


def test_user_mistakes_are_one_sentence(tmp_path, reference_dir):
    nothing = run_analyze(
        "source=paper",
        f"source.root={reference_dir / 'heatmaps_by_net'}",
        "filters.model=[NoSuchNet]",
        f"report_dir={tmp_path / 'r'}",
        f"hydra.run.dir={tmp_path / 'h'}",
    )
    assert nothing.returncode != 0
    assert nothing.stderr.strip().splitlines()[-1].startswith("Error: No heatmaps found in ") and "model=['NoSuchNet']" in nothing.stderr
    missing = run_analyze("source=wandb", f"report_dir={tmp_path / 'r'}", f"hydra.run.dir={tmp_path / 'h'}")
    assert missing.stderr.strip().splitlines()[-1] == "Error: The setting 'source.project' is required: add source.project=<value> to the command line."
    no_images = run_analyze("source=paper", "min_count=0", f"report_dir={tmp_path / 'r'}", f"hydra.run.dir={tmp_path / 'h'}")
    assert no_images.stderr.strip().splitlines()[-1] == "Error: min_count=0 would score heatmaps made of no image: give min_count=1 or more."
    wrong = run_analyze("source=local", f"source.paths=[{tmp_path / 'nope'}]", cwd=tmp_path)  # the default report directory
    assert "does not exist" in wrong.stderr.strip().splitlines()[-1] and "Traceback" not in wrong.stderr
    assert list((tmp_path / "reports").iterdir()) == []  # a failed analysis leaves no empty reports/local-<time>/ behind
    mask_dir = run_analyze("source=paper", f"source.root={reference_dir / 'heatmaps_by_net'}", f"masks.ekman={tmp_path}", f"hydra.run.dir={tmp_path / 'h'}")
    assert "holds no PNG files" in mask_dir.stderr.strip().splitlines()[-1]


def test_repeated_runs_of_one_config_latest_or_a_time_label_and_the_log_in_the_report(tmp_path):
    """Two runs of one configuration without W&B (no run id or name) beside another network
    and a damaged artifact: both runs are scored, told apart by start time; source.latest=true scores the
    newest run, a {time} label both; the log, with the report line, is in the report directory."""
    runs = tmp_path / "logs" / "train" / "runs"
    make_run(runs, "2026-05-01_09-30-00-000001", "2026-05-01T09:30:00+00:00", maps=1)
    make_run(runs, "2026-05-01_11-00-00-000001", "2026-05-01T11:00:00+00:00", maps=2)
    make_run(runs, "2026-05-01_10-00-00-000001", "2026-05-01T10:00:00+00:00", model="weinet", maps=3)
    broken = make_run(runs, "2026-05-01_12-00-00-000001", "2026-05-01T12:00:00+00:00", model="vgg16")
    (broken / "png" / "Fear.png").write_bytes(b"tampered")
    common = ["source=local", f"source.paths=[{tmp_path / 'logs' / 'train'}]", "progress=false"]
    both = run_analyze(*common, f"report_dir={tmp_path / 'both'}")  # the README's command after two runs of one config
    assert both.returncode == 0, both.stderr[-3000:]
    assert "told apart by run start time as smallcnn-20260501T093000Z, smallcnn-20260501T110000Z" in both.stdout + both.stderr
    assert sorted(pd.read_csv(tmp_path / "both" / "scores.csv").network.unique()) == ["smallcnn-20260501T093000Z", "smallcnn-20260501T110000Z", "weinet"]

    report = tmp_path / "latest"
    latest = run_analyze(*common, "source.latest=true", f"report_dir={report}")
    assert latest.returncode == 0, latest.stderr[-3000:]
    scores = pd.read_csv(report / "scores.csv")
    assert sorted(scores.network.unique()) == ["smallcnn", "weinet"]
    fear = scores[(scores.network == "smallcnn") & (scores.fold.astype(str) == "2") & (scores.expression == "Fear") & (scores.mask_family == "ekman")]
    iou = fear.set_index("metric")["value"]["iou"]
    newest, older = (score_heatmap(stretch(blob_maps(m)[2]), ekman_mask("Fear"), Threshold(), blob_maps(m)[2])["iou"] for m in (2, 1))
    assert iou == pytest.approx(newest, abs=1e-6) and iou != pytest.approx(older, abs=1e-6)  # the 11:00 run's heatmaps
    assert "- runs: the newest per network, method, fold and dataset (source.latest=true; 1 older sets left out)" in (report / "summary.md").read_text()
    log = (report / "analyze.log").read_text()
    assert f"Report written to {report} (2 heatmap sets, 1 skipped)." in log and f"Report written to {report}" in latest.stdout
    assert f"Reading heatmaps from local ({tmp_path / 'logs' / 'train'}) with no filters, keeping the newest run" in log
    assert f"skipped {broken}: " in log and "source.latest: left out " in log and "2026-05-01_09-30-00-000001" in log
    assert (report / ".hydra" / "config.yaml").is_file()  # the composed config beside the report

    labelled = run_analyze(*common, "source.label='{model}{guidance}-{time}'", "filters.dataset=[synthetic]", f"report_dir={tmp_path / 'labelled'}")
    assert labelled.returncode == 0, labelled.stderr[-3000:]
    table = pd.read_csv(tmp_path / "labelled" / "tables" / "gradcam__ekman__iou__pooled.csv", index_col=0)
    assert sorted(table.index[:-1]) == ["smallcnn-20260501T093000Z", "smallcnn-20260501T110000Z", "weinet-20260501T100000Z"]


@pytest.mark.slow
def test_train_two_models_then_analyze_local(tmp_path):
    """Three synthetic training runs with global heatmaps (smallcnn with and without AU
    guidance, weinet), then one report over all: guided beside unguided."""
    runs = {}
    for model, guidance in (("smallcnn", 0), ("weinet", 0), ("smallcnn+AU9", 9)):
        done = run_train(
            f"model={model.split('+')[0]}", f"model.au_guidance.weight={guidance}", *SMALL_DATA, "data.fold=2", "trainer.max_epochs=1",
            "callbacks=[default,global_saliency]", "saliency=[gradcam]",
            "callbacks.progress_bar=null", "data.batch_size=32", f"paths.log_dir={tmp_path / 'logs'}", f"hydra.run.dir={tmp_path / model}",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        runs[model] = tmp_path / model
        assert (runs[model] / "wandb").is_dir()
    report = tmp_path / "report"
    # one run given by its directory, the other by its W&B offline run directory
    offline_run = next((runs["weinet"] / "wandb").glob("offline-run-*"))
    done = run_analyze(
        "source=local",
        f"source.paths=[{runs['smallcnn']},{offline_run},{runs['smallcnn+AU9']}]",
        f"report_dir={report}",
        "name=e2e",
        "wandb.log_report=true",
        f"wandb.dir={tmp_path / 'wandb'}",
        f"hydra.run.dir={tmp_path / 'h'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    scores = pd.read_csv(report / "scores.csv")
    assert sorted(scores.network.unique()) == ["smallcnn", "smallcnn+AU9", "weinet"]
    assert read_artifact(runs["smallcnn+AU9"] / "heatmaps" / "gradcam").manifest.run.au_guidance == 9.0
    assert set(scores.fold.astype(str)) == {"2", "pooled"} and set(scores.method) == {"gradcam"}
    assert set(scores.mask_family) == {"ekman", "au"} and set(scores.metric) == set(METRICS)
    assert len(scores) == 3 * 2 * 6 * 2 * len(METRICS)  # networks x (fold 2, pooled) x expressions x families x metrics
    scored = scores.dropna()  # NaN only for a class the run selected no image of
    assert scored[scored.metric != "ncc"].value.between(0, 1).all() and scored.value.between(-1, 1).all()
    # scores recomputed from the artifacts themselves
    artifact = read_artifact(runs["weinet"] / "heatmaps" / "gradcam")
    row = scores[(scores.network == "weinet") & (scores.fold.astype(str) == "2") & (scores.expression == "Fear") & (scores.mask_family == "ekman")].set_index(
        "metric"
    )["value"]
    fear = artifact.classes.index("Fear")
    if artifact.manifest.counts["Fear"] == 0:
        assert row.isna().all()
    else:
        expected = score_heatmap(stretch(artifact.heatmaps[fear]), ekman_mask("Fear"), Threshold(), artifact.heatmaps[fear])
        for metric in ("iou", "cosine", "mass_accuracy", "roc_auc"):
            assert row[metric] == pytest.approx(expected[metric], abs=1e-6), metric
    # tables: fold-mean (one fold) equals pooled here, both present
    fold_table = pd.read_csv(report / "tables" / "gradcam__ekman__iou__fold-mean.csv", index_col=0)
    pooled_table = pd.read_csv(report / "tables" / "gradcam__ekman__iou__pooled.csv", index_col=0)
    assert sorted(fold_table.index[:-1]) == ["smallcnn", "smallcnn+AU9", "weinet"] and fold_table.index[-1] == "mean"
    assert list(fold_table.columns) == [*EXPRESSIONS, "mean"]
    assert np.allclose(fold_table.values, pooled_table.values, atol=1e-6, equal_nan=True)
    summary = (report / "summary.md").read_text()
    assert "(one fold per network: the same as the fold mean, shown once)" in summary and "| smallcnn |" in summary and "| weinet |" in summary
    assert "| smallcnn+AU9 |" in summary  # guided beside unguided
    distances = pd.read_csv(report / "distances" / "gradcam__Happiness.csv", index_col=0)
    maps = [stretch(read_artifact(runs[m] / "heatmaps" / "gradcam").heatmaps[3]).ravel().astype(float) for m in ("smallcnn", "weinet")]
    assert distances.loc["smallcnn", "weinet"] == pytest.approx(1 - np.corrcoef(maps)[0, 1], abs=1e-6)
    for name in ("heatmaps__gradcam", "masks", "bars__gradcam__ekman", "bars__gradcam__au", "dendrograms__gradcam", "distances__gradcam"):
        assert cv2.imread(str(report / "figures" / f"{name}.png")) is not None, name
    # the statistics of artifacts with per-image evidence: an interval for every non-empty cell, a reliability for every map
    cells = pd.read_csv(report / "statistics" / "cells.csv")
    scored_cells = scores[(scores.fold.astype(str) == "pooled")].dropna()
    assert len(cells.dropna(subset=["value"])) == len(scored_cells) and (cells.unit == "subjects").all()
    resampled = cells[cells.units >= 2].dropna(subset=["value"])
    given = resampled.dropna(subset=["ci_low"])
    assert len(given) >= 0.8 * len(resampled) and (given.ci_low <= given.ci_high).all()
    withheld = re.search(r"(\d+) of \d+ intervals of gradcam are not given", summary)
    assert len(given) == len(resampled) or (withheld and int(withheld.group(1)) >= len(resampled) - len(given))  # bias-dominated ones, counted
    reliability = pd.read_csv(report / "statistics" / "reliability.csv")
    assert len(reliability) == len(cells.drop_duplicates(["network", "expression"])) and reliability.reliability.dropna().between(-1, 1).all()
    assert "## Faithfulness · gradcam · test split (beside the localisation scores)" in summary and "- explained split: gradcam: test" in summary
    assert (report / "report" / "index.html").stat().st_size > 50_000
    # the report was logged to W&B (offline): tables, figures and the report artifact
    assert "Report logged to W&B (offline)" in done.stdout
    logged = next((tmp_path / "wandb" / "wandb").glob("offline-run-*"))
    media = {path.name.split("_")[0] for path in (logged / "files" / "media" / "images" / "figures").glob("*.png")}
    assert {"heatmaps", "masks", "dendrograms", "distances", "bars"} <= media
    assert list((logged / "files" / "media" / "table").glob("scores_*.table.json"))


def test_the_report_names_the_command_as_typed():
    from ferlens.analyze import command_line

    assert command_line(["/x/analyze.py", "source=paper"]) == "python analyze.py source=paper"
    assert command_line(["/venv/bin/ferlens-analyze", "name=a b"]) == "ferlens-analyze 'name=a b'"
