import subprocess
import sys

import numpy as np
import pytest

from ferlens.evaluation.localisation.masks import au_family, ekman_family
from ferlens.evaluation.localisation.quick import QUICK_METRICS, score_artifact
from ferlens.evaluation.localisation.scores import Threshold, score_heatmap
from ferlens.formats.heatmap_artifact import stretch
from tests.analysis.helpers import CLASSES, blob_maps, make_artifact
from tests.conftest import ROOT


def test_score_artifact_one_row_per_class_nan_for_empty(tmp_path):
    directory = make_artifact(tmp_path, "weinet", 1, seed=8, counts=[4, 0, 3, 2, 5, 6])
    table = score_artifact(directory)
    assert list(table.index) == CLASSES and table["count"].tolist() == [4, 0, 3, 2, 5, 6]
    assert list(table.columns) == ["count"] + [f"{family}_{metric}" for family in ("ekman", "au") for metric in QUICK_METRICS]
    assert table.loc["Disgust"].drop("count").isna().all()  # no image: missing, never 0.0000
    maps = blob_maps(8)
    for family, masks in (("ekman", ekman_family()), ("au", au_family())):
        for c in (0, 2, 5):
            expected = score_heatmap(stretch(maps[c]), masks[CLASSES[c]], Threshold(), maps[c])
            for metric in QUICK_METRICS:
                assert table.loc[CLASSES[c], f"{family}_{metric}"] == pytest.approx(expected[metric], abs=1e-6), (family, metric)
    assert table.drop(columns="count").drop(index="Disgust").notna().all(axis=None)


def test_score_artifact_min_count_and_classes_without_masks(tmp_path):
    directory = make_artifact(tmp_path, "weinet", 1, seed=1, counts=[1, 2, 3, 4, 5, 6, 7], classes=CLASSES + ["Neutral"])
    table = score_artifact(directory, families=("ekman",), min_count=3)
    assert table.loc[["Anger", "Disgust"]].drop(columns="count").isna().all(axis=None)
    assert table.loc["Neutral", "count"] == 7 and table.loc["Neutral"].drop("count").isna().all()  # no Neutral mask
    assert np.isfinite(table.loc["Fear", "ekman_roc_auc"])


def test_quick_scoring_and_analyze_import_without_dlib_or_train():
    code = (
        "import sys; sys.modules['dlib'] = None\n"  # any `import dlib` now fails
        "import ferlens.evaluation.localisation.quick, ferlens.analysis.known_truth, ferlens.analyze\n"
        "assert 'ferlens.train' not in sys.modules, 'analyze imported train'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
