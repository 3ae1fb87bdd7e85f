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
