import json

import numpy as np
import pytest

from ferlens.analysis.aggregate import FOLD_MEAN, count_table, network_table, pool_folds
from ferlens.analysis.heatmap_set import POOLED
from ferlens.analysis.pipeline import analyze_collection, check_compatible
from ferlens.analysis.sources import Filters
from ferlens.analysis.sources.local import collect_local
from ferlens.analysis.sources.paper import collect_paper
from ferlens.evaluation.localisation.masks import ekman_family
from ferlens.evaluation.localisation.scores import METRICS, Threshold, score_heatmap
from ferlens.faces.ekman_masks import ekman_mask
from ferlens.formats.heatmap_artifact import sign_manifest, stretch
from ferlens.user_errors import UserError
from tests.analysis.helpers import CLASSES, blob_maps, make_artifact, write_paper_layout


def test_fold_mean_table_is_the_mean_of_per_fold_scores(tmp_path):
    seeds = {("NetA", 1): 1, ("NetA", 2): 2, ("NetA", 3): 3, ("NetB", 1): 4, ("NetB", 2): 5, ("NetB", 3): 6}
    write_paper_layout(tmp_path, {key: blob_maps(seed) for key, seed in seeds.items()})
    analysis = analyze_collection(collect_paper(tmp_path, Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    for metric in ("iou", "f1", "precision", "recall", "ncc"):
        table = network_table(analysis.scores, metric, "ekman", "lime", FOLD_MEAN)
        for network in ("NetA", "NetB"):
            for c, expression in enumerate(CLASSES):
                per_fold = [score_heatmap(stretch(blob_maps(seeds[network, k])[c]), ekman_mask(expression), Threshold())[metric] for k in (1, 2, 3)]
                assert table.loc[network, expression] == pytest.approx(np.mean(per_fold), abs=1e-12)
            assert table.loc[network, "mean"] == pytest.approx(table.loc[network, CLASSES].mean())
        assert table.loc["mean", "Fear"] == pytest.approx(table.loc[["NetA", "NetB"], "Fear"].mean())
    # the pooled heatmap of gray PNGs (no counts) is the plain mean of the folds' images
    pooled = next(s for s in analysis.sets if s.key == ("NetA", "lime", POOLED))
    expected = np.mean([np.stack([stretch(m) for m in blob_maps(k)]) / 255 for k in (1, 2, 3)], axis=0)
    assert np.allclose(pooled.heatmaps, expected, atol=1e-6)
    pooled_table = network_table(analysis.scores, "iou", "ekman", "lime", POOLED)
    assert pooled_table.loc["NetA", "Anger"] == pytest.approx(score_heatmap(stretch(expected[0]), ekman_mask("Anger"), Threshold())["iou"])


def test_pooling_weights_fold_means_by_their_counts(tmp_path):
    make_artifact(tmp_path / "f1", "weinet", 1, seed=1, counts=[1, 2, 3, 4, 5, 6])
    make_artifact(tmp_path / "f2", "weinet", 2, seed=2, counts=[3, 2, 1, 0, 5, 6])
    sets = pool_folds(collect_local([tmp_path], Filters()).sets)
    pooled = next(s for s in sets if s.fold == POOLED)
    a, b = blob_maps(1), blob_maps(2)
    assert np.allclose(pooled.heatmaps[0], (1 * a[0] + 3 * b[0]) / 4, atol=1e-6)
    assert np.allclose(pooled.heatmaps[3], a[3], atol=1e-6)  # fold 2 had no Happiness image
    assert pooled.counts == [4, 4, 4, 4, 10, 12]


def test_mixed_class_lists_are_refused(tmp_path):
    make_artifact(tmp_path / "six", "weinet", 1)
    make_artifact(tmp_path / "seven", "songnet", 1, classes=CLASSES + ["Neutral"])
    with pytest.raises(UserError, match="analyze runs with the same class list together"):
        analyze_collection(collect_local([tmp_path], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)


def test_an_empty_fold_class_is_missing_not_zero(tmp_path):
    """Fold 1 of weinet selected no Disgust image: its fold-mean is fold 2's score alone (n = 1), not (0 + score) / 2."""
    make_artifact(tmp_path / "w1", "weinet", 1, seed=1, counts=[5, 0, 5, 5, 5, 5])
    make_artifact(tmp_path / "w2", "weinet", 2, seed=8, counts=[5, 7, 5, 5, 5, 5])
    make_artifact(tmp_path / "s1", "songnet", 1, seed=3)
    make_artifact(tmp_path / "s2", "songnet", 2, seed=4)
    analysis = analyze_collection(collect_local([tmp_path], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    disgust = blob_maps(8)[1]
    fold2 = score_heatmap(stretch(disgust), ekman_mask("Disgust"), Threshold(), disgust)
    assert fold2["iou"] == pytest.approx(0.4245, abs=1e-4)  # the fold-mean IoU, where (0 + 0.4245) / 2 was reported before
    for metric in METRICS:
        table = network_table(analysis.scores, metric, "ekman", "gradcam", FOLD_MEAN)
        assert table.loc["weinet", "Disgust"] == pytest.approx(fold2[metric], abs=1e-12), metric
        assert table.loc["mean", "Disgust"] == pytest.approx((fold2[metric] + table.loc["songnet", "Disgust"]) / 2, abs=1e-12)
        assert table.loc["weinet", "mean"] == pytest.approx(table.loc["weinet", CLASSES].mean(), abs=1e-12)
    folds = count_table(analysis.sets, "gradcam", FOLD_MEAN)
    assert folds.loc["weinet"].tolist() == [2, 1, 2, 2, 2, 2] and folds.loc["songnet"].tolist() == [2] * 6
    assert count_table(analysis.sets, "gradcam", POOLED).loc["weinet"].tolist() == [10, 7, 10, 10, 10, 10]
    empty = analysis.scores[(analysis.scores.network == "weinet") & (analysis.scores.fold == "1") & (analysis.scores.expression == "Disgust")]
    assert sorted(empty.metric) == sorted(METRICS) and empty.value.isna().all()
    assert analysis.scores.value.isna().sum() == len(METRICS)
    assert analysis.empty_cells() == [("weinet", "gradcam", "1", "Disgust")]


def test_an_artifact_of_no_image_scores_nan_everywhere_and_is_not_clustered(tmp_path):
    make_artifact(tmp_path / "a", "weinet", 1, seed=1)
    make_artifact(tmp_path / "b", "songnet", 1, seed=2)
    make_artifact(tmp_path / "c", "alexnet", 1, seed=3, counts=[0] * 6)
    analysis = analyze_collection(collect_local([tmp_path], Filters()), {"ekman": ekman_family()}, Threshold(), progress=False)
    alexnet = analysis.scores[analysis.scores.network == "alexnet"]
    assert len(alexnet) == 2 * 6 * len(METRICS) and alexnet.value.isna().all()  # fold 1 and pooled, never 0.0000
    table = network_table(analysis.scores, "iou", "ekman", "gradcam", POOLED)
    assert table.loc["alexnet"].isna().all()
    assert table.loc["mean", "mean"] == pytest.approx(table.loc[["weinet", "songnet"], "mean"].mean(), abs=1e-12)
    for expression, clustering in analysis.clusterings["gradcam"].items():
        assert sorted(clustering.labels) == ["songnet", "weinet"] and clustering.excluded == ["alexnet"], expression
    assert len(analysis.empty_cells()) == 12


def test_min_count_marks_thin_classes_missing_and_leaves_them_out_of_pooling(tmp_path):
    make_artifact(tmp_path / "f1", "weinet", 1, seed=1, counts=[2, 9, 9, 9, 9, 9])
    make_artifact(tmp_path / "f2", "weinet", 2, seed=2, counts=[4, 9, 9, 9, 9, 9])
    collection = collect_local([tmp_path], Filters())
    analysis = analyze_collection(collection, {"ekman": ekman_family()}, Threshold(), progress=False, min_count=3)
    pooled = analysis.pooled("gradcam")[0]
    assert pooled.counts[:2] == [4, 18] and np.allclose(pooled.heatmaps[0], blob_maps(2)[0], atol=1e-6)
    assert analysis.empty_cells() == [("weinet", "gradcam", "1", "Anger")]
    with pytest.raises(UserError, match="min_count=0 would score heatmaps made of no image"):
        analyze_collection(collection, {"ekman": ekman_family()}, Threshold(), progress=False, min_count=0)


def test_templates_are_compared_by_their_points_hash_when_given(tmp_path):
    make_artifact(tmp_path / "a", "weinet", 1, seed=1)
    other = make_artifact(tmp_path / "b", "songnet", 1, seed=2)
    write_paper_layout(tmp_path / "paper", {("NetA", None): blob_maps(0)})
    sets = collect_local([tmp_path / "a", tmp_path / "b"], Filters()).sets + collect_paper(tmp_path / "paper", Filters()).sets
    check_compatible(sets)  # the paper's PNGs carry no hash: name and size agree
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["template"]["points_sha256"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(sign_manifest(manifest)))
    with pytest.raises(UserError, match="analyze one template at a time"):
        check_compatible(collect_local([tmp_path / "a", tmp_path / "b"], Filters()).sets)
