import subprocess
import sys

import numpy as np
import pytest

from ferlens.analysis.known_truth import evaluate, method_summary
from ferlens.evaluation.localisation.scores import localisation_scores
from tests.analysis.helpers import blob_maps, make_artifact
from tests.conftest import ROOT, run_train

# a WeiNet on 900 synthetic faces for 8 epochs (4.8 minutes alone on 2 cores, 2026-12-02: its
# stride-1 pooling keeps 64x64 feature maps, 72 ms per image forward)
KNOWN_TRUTH = [
    "experiment=known_truth",
    "data.source.num_images=900",
    "saliency=[gradcam,gradcampp,attention]",
    "callbacks.global_saliency.faithfulness=null",  # not what this test checks (and 4 min per method)
    "logger=none",
    "callbacks.progress_bar=null",
    "test=false",
    "model.au_metrics.cam=null",  # CAM-COS is not what this test checks
]


@pytest.mark.slow
def test_trained_weinet_heatmaps_find_the_generating_aus_better_than_random_weights(tmp_path):
    trained = run_train(*KNOWN_TRUTH, "trainer.max_epochs=8", f"hydra.run.dir={tmp_path / 'trained'}", timeout=1500)
    assert trained.returncode == 0, trained.stderr[-3000:]
    random = run_train(*KNOWN_TRUTH, "train=false", f"hydra.run.dir={tmp_path / 'random'}")
    assert random.returncode == 0, random.stderr[-3000:]
    table = evaluate(tmp_path / "trained", tmp_path / "random").set_index("method")
    assert list(table.index) == ["attention", "gradcam", "gradcampp"] and (table.classes == 6).all()
    for method in ("gradcampp", "attention"):  # measured: IoU 0.298 / 0.313, 1.87x / 1.97x the random-weights IoU
        assert table.loc[method, "mean_iou"] >= 0.25, table
        assert table.loc[method, "iou_ratio"] >= 1.5, table
    # the command-line form prints the same table
    printed = subprocess.run(
        [sys.executable, "-m", "analysis.known_truth", str(tmp_path / "trained"), "--random", str(tmp_path / "random")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert printed.returncode == 0 and "iou_ratio" in printed.stdout and f"{table.loc['attention', 'mean_iou']:.3f}" in printed.stdout
    for column in ("mass_accuracy", "rank_accuracy", "roc_auc", "random_roc_auc"):
        assert column in printed.stdout and table[column].between(0, 1).all(), column


def test_method_summary_scores_localisation_and_leaves_empty_classes_out(tmp_path):
    directory = make_artifact(tmp_path, "weinet", 1, seed=8, counts=[5, 0, 5, 5, 5, 5])
    maps = blob_maps(8)
    truth = maps > np.quantile(maps, 0.95, axis=(1, 2), keepdims=True)  # each class's own top 5 %: found exactly
    truth[5] = ~truth[5]  # ... except Surprise, whose truth is everything but its peak
    summary = method_summary(directory, truth)
    assert summary["classes"] == 5 and summary["peaks_inside"] == 4  # Disgust (no image) is left out
    assert summary["rank_accuracy"] == pytest.approx((4 + localisation_scores(maps[5], truth[5])["rank_accuracy"]) / 5)
    assert summary["roc_auc"] == pytest.approx(4 / 5)  # 1 for the four found, 0 for Surprise
    present = [0, 2, 3, 4, 5]
    assert summary["mass_accuracy"] == pytest.approx(np.mean([localisation_scores(maps[c], truth[c])["mass_accuracy"] for c in present]))
    assert method_summary(directory, truth, "random_")["random_classes"] == 5
    own = maps > np.quantile(maps, 0.95, axis=(1, 2), keepdims=True)  # each class's own top 5 %, Surprise's too
    specific = method_summary(directory, own)
    assert specific["own_best"] == 5 and specific["specificity_p"] == pytest.approx(1 / 120)  # only the identity of 5! assignments
    # Surprise's region (everything but its peak) holds most of every map's mass; double-centred, that pull is taken out of every row:
    # the four classes found exactly rank their own region first, and Surprise, whose map avoids its region, does not
    assert summary["own_best"] == 4


def test_known_truth_needs_a_synthetic_run(tmp_path):
    printed = subprocess.run([sys.executable, "-m", "analysis.known_truth", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert printed.returncode != 0 and printed.stderr.strip() == f"Error: '{tmp_path}' has no .hydra/config.yaml: give the directory of a train.py run."
