"""The README's runs with the new methods: train.py with Score-CAM, RISE, SmoothGrad and
attention rollout on a tiny timm ViT, and Score-CAM, RISE and SmoothGrad on smallcnn (where
attention rollout is refused in one sentence), write heatmap artifacts that analyze.py reports."""

import pandas as pd
import pytest

from ferlens.formats.heatmap_artifact import read_artifact
from tests.conftest import SMALL_DATA, run_train
from tests.test_analyze import run_analyze

#: Small runs: one epoch, 2 images a class explained, no faithfulness scores.
FAST = [*SMALL_DATA, "trainer.max_epochs=1", "data.batch_size=32", "callbacks.global_saliency.per_class=2", "callbacks.global_saliency.faithfulness=null"]
FAST += ["logger=none", "callbacks.progress_bar=null"]
#: Fewer RISE masks and SmoothGrad samples.
FEWER = ["saliency.rise.masks=64", "saliency.smoothgrad.samples=4"]
VIT = ["model=timm", "model.net.name=test_vit", "model.net.pretrained=false", "model.input_size=64"]


@pytest.mark.slow
def test_new_methods_train_on_a_vit_and_smallcnn_then_analyze(tmp_path):
    runs = {
        "vit": (VIT, ["scorecam", "rise", "smoothgrad", "attention_rollout"]),
        "smallcnn": (["model=smallcnn"], ["scorecam", "rise", "smoothgrad"]),
    }
    for key, (model, methods) in runs.items():
        done = run_train(*model, f"saliency=[{','.join(methods)}]", *FAST, *FEWER, f"hydra.run.dir={tmp_path / key}")
        assert done.returncode == 0, done.stderr[-3000:]
        for method in methods:
            artifact = read_artifact(tmp_path / key / "heatmaps" / method)
            assert artifact.manifest.saliency.method == method and sum(artifact.manifest.counts.values()) > 0
            assert artifact.heatmaps.min() >= 0 and artifact.heatmaps.max() > 0
            assert f"{method} heatmaps (" in done.stdout
    report = tmp_path / "report"
    done = run_analyze(
        "source=local",
        f"source.paths=[{tmp_path / 'vit'},{tmp_path / 'smallcnn'}]",
        f"report_dir={report}",
        "progress=false",
        f"hydra.run.dir={tmp_path / 'h'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    scores = pd.read_csv(report / "scores.csv")
    assert set(scores.method) == {"scorecam", "rise", "smoothgrad", "attention_rollout"}
    assert set(scores[scores.method == "attention_rollout"].network) == {"test_vit"} and len(set(scores.network)) == 2


@pytest.mark.slow
def test_attention_rollout_on_smallcnn_is_refused_in_one_sentence(tmp_path):
    refused = run_train("model=smallcnn", "saliency=[attention_rollout]", *FAST, f"hydra.run.dir={tmp_path}")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr + refused.stdout
    assert (
        "attention_rollout needs a transformer with self-attention blocks (a timm ViT or DeiT); SmallCNN has none: choose a CAM or gradient method."
        in refused.stderr
    )
