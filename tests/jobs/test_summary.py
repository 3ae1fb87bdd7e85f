import logging
import math

import pandas as pd

from ferlens.formats.manifest import WeightsInfo
from ferlens.jobs.summary import HeatmapSummary, print_summary
from tests.analysis.helpers import made_up_manifest


def test_end_summary_prints_counts_scores_and_warns_about_empty_classes(tmp_path, capsys):
    scores = pd.DataFrame(
        {
            "count": [12, 0, 7],
            "ekman_iou": [0.3125, math.nan, 0.25],
            "au_iou": [0.5, math.nan, 0.125],
            "ekman_mass_accuracy": [0.4, math.nan, 0.6],
            "au_mass_accuracy": [0.2, math.nan, 0.4],
            "ekman_roc_auc": [0.9, math.nan, 0.8],
        },
        index=pd.Index(["Anger", "Disgust", "Fear"], name="class"),
    )
    manifest = made_up_manifest("gradcampp", split=None, model="smallcnn", pretrained=False, seed=42, epoch=4).replace(
        classes=("Anger", "Disgust", "Fear"),
        counts={"Anger": 12, "Disgust": 0, "Fear": 7},
        zero_maps={"Anger": 0, "Disgust": 0, "Fear": 7},
        weights=WeightsInfo(source="best checkpoint", epoch=4, val_acc=0.75),
    )  # split not recorded: no "of the ... split"
    directory = tmp_path / ("a-long-run-directory-name-" * 4) / "heatmaps" / "gradcampp"  # longer than the 80 columns of a pipe
    summary = HeatmapSummary("gradcampp", directory, manifest, scores, directory / "overview.png")
    results = {"val/acc": 0.75, "val/recall/Anger": 0.5, "test/acc": 0.7, "test/att_cos": 0.41, "best_val_acc": 0.8}
    print_summary("smallcnn on synthetic, fold 1", results, {"output directory": str(tmp_path)}, 90.0, [summary])
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("│")}
    assert "0.7500" in lines["acc"] and "0.7000" in lines["acc"] and "0.4100" in lines["att_cos"] and "0.8000" in lines["best"]
    assert "recall" not in out  # per-class metrics stay in the metric loggers
    assert f"gradcampp heatmaps (19 images): {directory}\n" in out and f"gradcampp figure: {directory / 'overview.png'}\n" in out  # whole, unwrapped
    assert "gradcampp heatmaps of the best checkpoint (epoch 5, val acc 0.7500)" in out  # 0-based 4, shown from 1
    assert "IoU Ekman" in out and "IoU AU" in out and "mass in Ekman" in out and "roc" not in out.lower()
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│") and line.split()[1] in ("Anger", "Disgust", "Fear", "mean")}
    assert "12" in rows["Anger"] and "0.312" in rows["Anger"] and "0.500" in rows["Anger"]
    assert rows["Disgust"].count("-") == 4 and " 0 " in rows["Disgust"]  # missing, not zero
    assert "19" in rows["mean"] and "0.281" in rows["mean"] and "0.312" in rows["mean"]  # NaN left out of the means
    assert "Warning: no gradcampp heatmap for Disgust (no image selected): missing, not zero." in out
    assert "gradcampp found no positive evidence (a map zero everywhere) in 7 of 19 images (Fear 7/7): the heatmaps rest on the others." in out


def test_the_summary_also_goes_to_the_log(tmp_path, caplog):
    log = logging.getLogger("ferlens.file")
    with caplog.at_level(logging.INFO, logger=log.name):
        text = print_summary("smallcnn on synthetic, fold 1", {"val/acc": 0.75}, {"output directory": str(tmp_path)}, 90.0, log=log)
    assert caplog.records[-1].getMessage() == "run summary\n" + text.rstrip()
    assert "smallcnn on synthetic, fold 1" in text and f"output directory: {tmp_path}" in text and "\x1b[" not in text  # plain text, no colour codes


def test_the_summary_prints_faithfulness_and_the_randomisation_verdict_and_an_untrained_run_only_what_it_did(tmp_path, capsys):
    from ferlens.formats.manifest import FaithfulnessCheck, RandomisationCheck

    faithfulness = FaithfulnessCheck(
        steps=20,
        fractions=(0.1, 0.5),
        noise=0.01,
        baseline="black (0)",
        per_class={},
        overall={"counts": 19, "deletion_auc": 0.125, "insertion_auc": 0.5, "road_combined": 0.0625},
    )
    randomisation = RandomisationCheck(
        layers=("fc", "conv2", "conv1"),
        skipped=(),
        draws=1,
        threshold=0.5,
        per_class={},
        overall={"counts": 6},
        fully_randomised_spearman=0.75,
        fails=True,
    )
    manifest = made_up_manifest("gradcampp", split="test", model="smallcnn", pretrained=False, seed=42, epoch=4).replace(
        classes=("Anger",), counts={"Anger": 19}, faithfulness=faithfulness, randomisation=randomisation
    )
    scores = pd.DataFrame({"count": [19], "ekman_iou": [0.5], "au_iou": [0.5], "ekman_mass_accuracy": [0.5], "au_mass_accuracy": [0.5]}, index=["Anger"])
    summary = HeatmapSummary("gradcampp", tmp_path, manifest, scores, tmp_path / "overview.png")
    print_summary("smallcnn", {"val/acc": 0.75}, {"weights": "x.ckpt"}, 6.0, [summary], tested="given weights", validated="given weights")
    out = capsys.readouterr().out
    assert (
        "gradcampp faithfulness (19 images): deletion AUC 0.125 (lower = more faithful), insertion AUC 0.500 (higher), ROAD combined 0.062 (higher)\n"
    ) in out
    assert (
        "gradcampp FAILS the model-randomisation check: Spearman r 0.750 between its maps of the trained and of the fully randomised network "
        "(3 layers, 6 images; it fails above 0.5)\n"
    ) in out
    assert "val (given weights)" in out and "test (" not in out and "best checkpoint" not in out  # no test ran, nothing was trained
