from types import SimpleNamespace

from ferlens.analysis.aggregate import score_sets
from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.analysis.report.statistics_tables import MISSING, specificity_table
from ferlens.analysis.statistics.specificity import POOLED_NETWORKS, specificity
from ferlens.evaluation.localisation.scores import Threshold
from tests.analysis.helpers import CLASSES, band_masks_and_maps


def test_the_specificity_table_gives_the_own_score_the_others_and_a_whole_rank_per_cell():
    masks, own = band_masks_and_maps()  # six disjoint bands, each class's map its own band
    sets = [
        HeatmapSet("own", "gradcam", POOLED, CLASSES, own, [10] * 6),
        HeatmapSet("partly", "gradcam", POOLED, CLASSES, own[[1, 0, 2, 3, 4, 5]], [10, 0, 10, 10, 10, 10]),
    ]
    _, matrices = score_sets(sets, {"bands": masks}, Threshold(), 1, progress=False)
    rows, tests = specificity(sets, matrices, ["bands"], 999, 0)
    table = specificity_table(SimpleNamespace(specificity=rows, permutation=tests), "gradcam", "bands", "iou")
    assert list(table.columns) == [*CLASSES, "own mask best", "permutation p"]
    assert table.loc["own", "Anger"] == "1.000 (0.000, 0.000) #1"  # own mask, mean and max of the others, its rank
    assert table.loc["own", "own mask best"] == "6/6" and table.loc["partly", "Disgust"] == MISSING
    # Anger shows the Disgust band, whose mask is out with its empty class: 0 against all five masks. Double-centred, the
    # Anger mask, which no other map hits either, is the one it avoids least: rank 1 of the interaction (the raw rank would tie all five)
    assert table.loc["partly", "Anger"] == "0.000 (0.000, 0.000) #1" and table.loc["partly", "own mask best"] == "5/5"
    assert table.loc[POOLED_NETWORKS, "own mask best"] == "11/11"
    assert specificity_table(SimpleNamespace(specificity=rows, permutation=tests), "lime", "bands", "iou") is None


def test_every_interval_method_has_a_name_in_the_report():
    from ferlens.analysis.report.statistics_tables import INTERVAL_NAMES
    from ferlens.analysis.statistics.intervals import INTERVALS

    assert set(INTERVAL_NAMES) == set(INTERVALS)
