import pandas as pd
import pytest

from analysis.masks import au_family, directory_family, ekman_family
from analysis.pipeline import analyze_collection
from analysis.report import write_report
from analysis.scoring import Threshold
from analysis.sources import Filters
from analysis.sources.local import collect_local
from tests.analysis.helpers import make_artifact


def test_report_of_one_network_over_two_folds(tmp_path):
    make_artifact(tmp_path / "runs" / "a", "weinet", 1, seed=1)
    make_artifact(tmp_path / "runs" / "b", "weinet", 2, seed=2)
    damaged = make_artifact(tmp_path / "runs" / "c", "songnet", 1, seed=3)
    (damaged / "heatmaps.npy").write_bytes(b"x")
    collection = collect_local([tmp_path / "runs"], Filters())
    analysis = analyze_collection(collection, {"ekman": ekman_family(), "au": au_family()}, Threshold("topk", 20), progress=False)
    report = write_report(analysis, tmp_path / "report", "one network", {"source": "test"})
    summary = (report / "summary.md").read_text()
    assert "## IoU · gradcam · ekman masks · mean of the per-fold scores (the study's table)" in summary
    assert "## F1 · gradcam · au masks · scores of the pooled heatmaps" in summary
    assert "threshold: topk(20)" in summary and "heatmap sets read: 2" in summary
    assert "n/a (fewer than 3 networks)" in summary and "skipped inputs: 1" in summary and "heatmaps.npy' is missing or does not match" in summary
    table = pd.read_csv(report / "tables" / "gradcam__ekman__recall__fold-mean.csv", index_col=0)
    scores = pd.read_csv(report / "scores.csv")
    folds = scores[(scores.metric == "recall") & (scores.mask_family == "ekman") & (scores.fold != "pooled") & (scores.expression == "Sadness")]
    assert sorted(folds.fold.astype(str)) == ["1", "2"] and table.loc["weinet", "Sadness"] == pytest.approx(folds.value.mean(), abs=1e-6)
    # the top 20 % of the pixels can cover at most 0.2 / (mask fraction) of a mask
    for expression, mask in ekman_family().items():
        recalls = scores[(scores.metric == "recall") & (scores.mask_family == "ekman") & (scores.expression == expression)].value
        assert (recalls <= 0.2 / mask.mean() + 1e-3).all() and recalls.max() > 0
    assert (report / "figures" / "dendrograms__gradcam.png").stat().st_size > 1000


def test_mask_directory_of_plain_names(tmp_path):
    import cv2

    for expression, mask in ekman_family().items():
        cv2.imwrite(str(tmp_path / f"{expression}.png"), mask.astype("uint8") * 255)
    loaded = directory_family(tmp_path)
    assert sorted(loaded) == sorted(ekman_family()) and all((loaded[e] == m).all() for e, m in ekman_family().items())
