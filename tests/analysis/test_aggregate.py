import numpy as np
import pytest

from analysis.aggregate import FOLD_MEAN, network_table, pool_folds
from analysis.heatmap_set import POOLED
from analysis.masks import ekman_family
from analysis.pipeline import analyze_collection
from analysis.scoring import Threshold, score_heatmap
from analysis.sources import Filters
from analysis.sources.local import collect_local
from analysis.sources.paper import collect_paper
from faces.ekman_masks import ekman_mask
from formats.heatmap_artifact import stretch
from tests.analysis.helpers import CLASSES, blob_maps, make_artifact, write_paper_layout
from user_errors import UserError


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
