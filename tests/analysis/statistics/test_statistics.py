import numpy as np
import pandas as pd
import pytest

from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.sources import LocalSource
from ferlens.analysis.sources.base import Filters
from ferlens.analysis.statistics import GRAND_MEAN, StatisticsSettings, compute_statistics, fold_spread
from ferlens.scoring.masks import load_families
from ferlens.scoring.scores import Threshold
from ferlens.user_errors import UserError
from tests.analysis.helpers import blob_maps, make_artifact, make_evidence_artifact


@pytest.fixture(scope="module")
def three_networks(tmp_path_factory):
    """Two networks with the same class maps (one pretrained) and one with other maps; 12
    images per class from 4 subjects each."""
    root = tmp_path_factory.mktemp("statistics")
    shared = blob_maps(0)
    make_evidence_artifact(root / "a", "alpha", class_maps=shared, seed=1)
    make_evidence_artifact(root / "b", "beta", class_maps=shared, seed=2, pretrained=True)
    make_evidence_artifact(root / "c", "gamma", class_maps=blob_maps(9), seed=3, noise=1.5)
    collection = LocalSource(paths=[str(root)]).collect(Filters())
    analysis = analyze_collection(collection, load_families({"ekman": "ekman", "au": "au"}), Threshold(), progress=False)
    return analysis, compute_statistics(analysis, StatisticsSettings(resamples=300, split_halves=50))


def test_every_cell_has_an_interval_around_its_score(three_networks):
    analysis, statistics = three_networks
    cells = statistics.cells
    assert len(cells) == 3 * 6 * 2 * 10 and (cells.unit == "subjects").all() and (cells.units == 4).all() and (cells.images == 12).all()
    finite = cells.dropna(subset=["ci_low"])
    assert len(finite) > 0.9 * len(cells)
    assert ((finite.ci_low <= finite.value + 1e-9) & (finite.value <= finite.ci_high + 1e-9)).mean() > 0.95
    pooled = analysis.scores[analysis.scores.fold == "pooled"].set_index(["network", "expression", "mask_family", "metric"])["value"]
    merged = cells.set_index(["network", "expression", "mask_family", "metric"])
    np.testing.assert_allclose(merged.value, pooled.reindex(merged.index), equal_nan=True)  # the tables' numbers
    np.testing.assert_allclose(merged.alignment, merged.value - merged.prior, atol=1e-12, equal_nan=True)
    assert (cells.offset.abs().dropna() < 0.1).all()  # full resolution and the evidence grid agree closely
    assert (cells[cells.metric == "pointing_game"].offset == 0).all()  # a hit or a miss is not moved


def test_network_means_grand_mean_and_rank_stability(three_networks):
    _, statistics = three_networks
    means = statistics.means[(statistics.means.mask_family == "ekman") & (statistics.means.metric == "iou")].set_index("network")
    assert list(means.index) == ["alpha", "beta", "gamma", GRAND_MEAN]
    networks = means.drop(GRAND_MEAN)
    assert networks.first_share_images.sum() == pytest.approx(1.0) and networks.first_share_expressions.sum() == pytest.approx(1.0)
    clear = networks.loc[["alpha", "beta"]]  # percentile intervals hold the estimate unless resampling biases it (gamma's noisy maps)
    assert (clear.ci_low <= clear.value + 1e-9).all() and (clear.value <= clear.ci_high + 1e-9).all()
    grand = means.loc[GRAND_MEAN]
    assert grand.value == pytest.approx(networks.value.mean()) and grand.ci_low < grand.ci_high
    assert grand.ci_high - grand.ci_low < (networks.ci_high - networks.ci_low).mean()  # three networks' images: narrower
    cells = (
        statistics.cells[(statistics.cells.mask_family == "ekman") & (statistics.cells.metric == "iou")].groupby("network").bias.apply(lambda b: b.abs().mean())
    )
    assert cells["gamma"] > 3 * cells["alpha"]  # the noisy network's resampled maps are biased, and the table says so


def test_reliability_clusters_and_groups(three_networks):
    _, statistics = three_networks
    reliability = statistics.reliability.set_index("network")
    assert (reliability.loc[["alpha", "beta"], "reliability"] > 0.9).all()  # noise 0.3 over 12 images
    assert (reliability.loc["gamma", "reliability"].to_numpy() < reliability.loc["alpha", "reliability"].to_numpy()).all()  # five times the noise
    clusters = statistics.clusters
    assert set(clusters.linkage) == {"average", "complete", "ward"} and clusters.bp.between(0, 1).all()
    pair = clusters[clusters.cluster == "alpha, beta"]
    assert len(pair) == 18 and (pair.bp > 0.9).all() and (pair.resampling == "subjects within each network").all()  # the same class maps
    assert len(statistics.trees) == 18 and statistics.groups.empty  # one pretrained network: no group test
    assert "pretraining" not in " ".join(statistics.notes)


def test_sets_without_evidence_get_what_needs_none_and_say_so(tmp_path):
    make_artifact(tmp_path / "old", "legacy", 1)
    make_evidence_artifact(tmp_path / "new", "modern")
    analysis = analyze_collection(LocalSource(paths=[str(tmp_path)]).collect(Filters()), load_families({"ekman": "ekman"}), Threshold(), progress=False)
    statistics = compute_statistics(analysis, StatisticsSettings(resamples=50))
    assert set(statistics.cells.network) == {"modern"} and set(statistics.reliability.network) == {"modern"}
    assert any("legacy: not available: re-explain with ferlens >= 0.2.0" in note for note in statistics.notes)
    legacy = statistics.means.set_index("network").loc["legacy"]
    assert legacy.ci_low.isna().all() and np.isfinite(legacy.first_share_expressions).all()  # no image interval; expressions resampled
    assert np.isnan(statistics.means.set_index("network").loc[GRAND_MEAN, "ci_low"]).all()  # not all networks have evidence


def test_fold_spread_uses_ddof_one():
    scores = pd.DataFrame(
        [("n", fold, "m", "Anger", "ekman", "iou", value) for fold, value in (("1", 0.2), ("2", 0.4), ("3", 0.9), ("pooled", 0.5))],
        columns=["network", "fold", "method", "expression", "mask_family", "metric", "value"],
    )
    spread = fold_spread(scores).iloc[0]
    assert spread.folds == 3 and spread["mean"] == pytest.approx(0.5) and spread.sd == pytest.approx(np.std([0.2, 0.4, 0.9], ddof=1))


@pytest.mark.parametrize(
    ("setting", "needle"),
    [({"resample": "faces"}, "statistics.resample='faces' is not valid"), ({"linkages": ["single"]}, "statistics.linkages has single"),
     ({"resamples": 0}, "statistics.resamples=0 is not valid"), ({"confidence": 95}, "use a level between 0 and 1")],
)  # fmt: skip
def test_bad_settings_are_one_sentence(setting, needle):
    with pytest.raises(UserError, match=needle):
        StatisticsSettings(**setting)
