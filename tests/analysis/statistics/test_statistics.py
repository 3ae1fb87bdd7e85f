import numpy as np
import pandas as pd
import pytest
from scipy.stats import bootstrap

from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.sources import LocalSource
from ferlens.analysis.sources.base import Filters
from ferlens.analysis.statistics import GRAND_MEAN, StatisticsSettings, compute_statistics, fold_spread
from ferlens.evaluation.localisation.masks import MaskFamily, load_families
from ferlens.evaluation.localisation.scores import Threshold
from ferlens.formats.evidence import evidence_from_maps, pool_to_evidence
from ferlens.formats.heatmap_artifact import write_artifact
from ferlens.user_errors import UserError
from tests.analysis.helpers import CLASSES, blob_maps, made_up_manifest, make_artifact, make_evidence_artifact

LEFT_HALF: MaskFamily = {"Anger": np.zeros((275, 224), bool)}
LEFT_HALF["Anger"][:, :112] = True  # block-aligned: the evidence grid sees it exactly


@pytest.fixture(scope="module")
def three_networks(tmp_path_factory):
    """Two networks with the same class maps (one pretrained) and one with other maps; 12
    images per class, one of each of 12 subjects."""
    root = tmp_path_factory.mktemp("statistics")
    shared = blob_maps(0)
    make_evidence_artifact(root / "a", "alpha", class_maps=shared, seed=1, subjects=12)
    make_evidence_artifact(root / "b", "beta", class_maps=shared, seed=2, pretrained=True, subjects=12)
    make_evidence_artifact(root / "c", "gamma", class_maps=blob_maps(9), seed=3, noise=1.5, subjects=12)
    collection = LocalSource(paths=[str(root)]).collect(Filters())
    analysis = analyze_collection(collection, load_families({"ekman": "ekman", "au": "au"}), Threshold(), progress=False)
    return analysis, compute_statistics(analysis, StatisticsSettings(resamples=300, split_halves=50))


def test_every_cell_has_an_interval_around_its_score(three_networks):
    analysis, statistics = three_networks
    cells = statistics.cells
    assert len(cells) == 3 * 6 * 2 * 10 and (cells.unit == "subjects").all() and (cells.units == 12).all() and (cells.images == 12).all()
    assert (cells.level == "subjects (the trained models fixed)").all()
    finite = cells.dropna(subset=["ci_low"])
    # the cosine of min-max stretched maps moves with the noise's extremes: its resampling bias can exceed its spread (no interval, said in a note)
    assert len(finite[(finite.network != "gamma") & (finite.metric != "cosine")]) > 0.9 * len(cells[(cells.network != "gamma") & (cells.metric != "cosine")])
    clear = finite[finite.network != "gamma"]  # BCa moves the interval of a biased estimate (gamma's noisy maps) away from it, as it should
    assert ((clear.ci_low <= clear.value + 1e-9) & (clear.value <= clear.ci_high + 1e-9)).mean() > 0.95
    pooled = analysis.scores[analysis.scores.fold == "pooled"].set_index(["network", "expression", "mask_family", "metric"])["value"]
    merged = cells.set_index(["network", "expression", "mask_family", "metric"])
    np.testing.assert_allclose(merged.value, pooled.reindex(merged.index), equal_nan=True)  # the tables' numbers
    np.testing.assert_allclose(merged.alignment, merged.value - merged.prior, atol=1e-12, equal_nan=True)
    assert (cells.offset.abs().dropna() < 0.1).all()  # full resolution and the evidence grid agree closely
    assert (cells[cells.metric == "pointing_game"].offset == 0).all()  # a hit or a miss is not moved
    ncc, rest = finite[finite.metric == "ncc"], finite[finite.metric != "ncc"]
    assert (ncc.ci_low >= -1).all() and (ncc.ci_high <= 1).all() and (ncc.ci_low < 0).any()  # NCC's own range, negative values kept
    assert (rest.ci_low >= 0).all() and (rest.ci_high <= 1).all()


def test_network_means_grand_mean_differences_and_rank_stability(three_networks):
    _, statistics = three_networks
    means = statistics.means[(statistics.means.mask_family == "ekman") & (statistics.means.metric == "iou")].set_index("network")
    assert list(means.index) == ["alpha", "beta", "gamma", GRAND_MEAN]
    networks = means.drop(GRAND_MEAN)
    assert networks.first_share.sum() == pytest.approx(1.0) and (networks.expressions == 6).all()
    clear = networks.loc[["alpha", "beta"]]
    assert (clear.ci_low <= clear.value + 1e-9).all() and (clear.value <= clear.ci_high + 1e-9).all()
    assert means.loc[GRAND_MEAN].value == pytest.approx(networks.value.mean())
    mass = statistics.means[(statistics.means.mask_family == "ekman") & (statistics.means.metric == "mass_accuracy")].set_index("network")
    grand = mass.loc[GRAND_MEAN]  # mass accuracy is nearly linear in the maps: little resampling bias
    assert grand.ci_low < grand.value < grand.ci_high and grand.ci_high - grand.ci_low < (mass.drop(GRAND_MEAN).ci_high - mass.drop(GRAND_MEAN).ci_low).max()
    differences = statistics.differences[(statistics.differences.mask_family == "ekman") & (statistics.differences.metric == "iou")]
    assert len(differences) == 3 and set(zip(differences.network, differences.other, strict=True)) == {("alpha", "beta"), ("alpha", "gamma"), ("beta", "gamma")}
    pairs = differences.set_index(["network", "other"])
    same = pairs.loc["alpha", "beta"]  # the same class maps and faces: near 0
    assert same.ci_low < 0 < same.ci_high and same.p_value > 0.05
    noisy = statistics.cells[statistics.cells.network == "gamma"]  # five times the noise over 12 faces: IoU's resampling bias exceeds its spread
    assert noisy.ci_low.isna().sum() > statistics.cells[statistics.cells.network == "alpha"].ci_low.isna().sum()
    assert any("resampling bias exceeds its spread" in note for note in statistics.notes)


def test_reliability_clusters_and_groups(three_networks):
    _, statistics = three_networks
    reliability = statistics.reliability.set_index("network")
    assert (reliability.loc[["alpha", "beta"], "reliability"] > 0.9).all()  # noise 0.3 over 12 images
    assert (reliability.loc["gamma", "reliability"].to_numpy() < reliability.loc["alpha", "reliability"].to_numpy()).all()  # five times the noise
    # the class-specific pattern (map minus the leave-one-class-out prior; known truth in test_reliability.py): here every class is its own
    # blob, with no face shared by the classes, so the pattern is as reliable as the map
    assert reliability.specific_reliability.notna().all() and (reliability.loc[["alpha", "beta"], "specific_reliability"] > 0.9).all()
    clusters = statistics.clusters
    assert set(clusters.linkage) == {"average", "complete", "ward"} and clusters.bp.between(0, 1).all()
    pair = clusters[clusters.cluster == "alpha, beta"]
    assert len(pair) == 18 and (pair.bp > 0.9).all() and (pair.resampling == "subjects, one draw for every network").all()  # the same class maps
    assert all(tree.grid == "evidence grid (55x56)" for tree in statistics.trees.values())  # reference and bootstrap trees on one grid
    assert len(statistics.trees) == 18 and statistics.groups.empty  # one pretrained network: no group test


def test_a_negative_ncc_cell_keeps_its_own_value_inside_its_interval(tmp_path):
    maps = blob_maps(4)
    away = np.zeros((6, 275, 224), np.float32)
    away[:, 150:, :] = 1.0  # every map lies on the lower half, away from the masks of the upper face
    make_evidence_artifact(tmp_path, "low", class_maps=away + 0.05 * maps, seed=5, noise=0.2)
    analysis = analyze_collection(LocalSource(paths=[str(tmp_path)]).collect(Filters()), load_families({"ekman": "ekman"}), Threshold(), progress=False)
    cells = compute_statistics(analysis, StatisticsSettings(resamples=300, split_halves=10)).cells
    negative = cells[(cells.metric == "ncc") & (cells.value < -0.1)]
    assert len(negative) >= 3
    assert ((negative.ci_low <= negative.value) & (negative.value <= negative.ci_high) & (negative.ci_high < 0)).all()


def _half_maps(shares: np.ndarray) -> np.ndarray:
    """[n, 275, 224]: image i puts mass share_i on the left half and 1 - share_i on the right,
    so the mass accuracy of any mean of them is the mean of their shares."""
    maps = np.empty((len(shares), 275, 224), np.float32)
    maps[:, :, :112] = shares[:, None, None]
    maps[:, :, 112:] = 1 - shares[:, None, None]
    return maps


def _artifact(directory, model: str, maps: np.ndarray, subjects: list[str]) -> None:
    """One network whose only non-empty class (Anger) holds ``maps``."""
    n = len(maps)
    target = np.zeros(n, np.int64)
    evidence = evidence_from_maps(pool_to_evidence(maps), np.arange(n), target, target, target, subjects, [f"{i}.png" for i in range(n)])
    heatmaps = np.zeros((6, 275, 224), np.float32)
    heatmaps[0] = maps.mean(axis=0)
    manifest = made_up_manifest("gradcam", model=model, fold=1, pretrained=False, seed=0, epoch=0, dataset="faces")
    write_artifact(directory / model / "heatmaps" / "gradcam", heatmaps, [n, 0, 0, 0, 0, 0], CLASSES, manifest, evidence)


def _statistics(tmp_path, **settings):
    analysis = analyze_collection(LocalSource(paths=[str(tmp_path)]).collect(Filters()), {"half": LEFT_HALF}, Threshold(), progress=False)
    return compute_statistics(analysis, StatisticsSettings(**settings))


def test_a_mean_over_images_gets_scipys_percentile_interval_and_the_formulas_width(tmp_path):
    shares = np.random.default_rng(3).uniform(0.3, 0.9, 40)
    _artifact(tmp_path, "net", _half_maps(shares), [""] * 40)  # subjects unknown: images are resampled
    statistics = _statistics(tmp_path, resamples=2000, seed=7, interval="percentile")
    cell = statistics.cells.set_index("metric").loc["mass_accuracy"]
    assert cell.unit == "images" and cell.units == 40 and cell.value == pytest.approx(shares.mean(), abs=1e-4) and abs(cell.offset) < 1e-3
    reference = bootstrap((shares,), np.mean, n_resamples=2000, method="percentile", rng=np.random.default_rng(7)).confidence_interval
    assert cell.ci_low == pytest.approx(reference.low, abs=5e-3) and cell.ci_high == pytest.approx(reference.high, abs=5e-3)
    half_width = 1.96 * shares.std(ddof=0) / np.sqrt(len(shares))  # the normal approximation of a mean's interval
    assert (cell.ci_high - cell.ci_low) / 2 == pytest.approx(half_width, rel=0.12)


@pytest.mark.parametrize("interval", ["bca", "basic", "expanded", "percentile"])
def test_every_interval_method_runs_on_evidence(tmp_path, interval):
    subject_shares = np.random.default_rng(4).uniform(0.2, 0.8, 10)
    _artifact(tmp_path, "net", _half_maps(np.repeat(subject_shares, 4)), [f"s{i // 4}" for i in range(40)])
    cell = _statistics(tmp_path, resamples=400, seed=1, interval=interval).cells.set_index("metric").loc["mass_accuracy"]
    assert cell.unit == "subjects" and cell.units == 10 and cell.images == 40
    assert cell.ci_low < subject_shares.mean() < cell.ci_high and cell.ci_high - cell.ci_low < 0.4


def test_subjects_are_resampled_not_their_images(tmp_path):
    subject_shares = np.random.default_rng(4).uniform(0.2, 0.8, 10)
    _artifact(tmp_path, "net", _half_maps(np.repeat(subject_shares, 4)), [f"s{i // 4}" for i in range(40)])  # 10 faces, not 40 observations
    by_subjects = _statistics(tmp_path, resamples=1000, seed=1, interval="percentile").cells.set_index("metric").loc["mass_accuracy"]
    by_images = _statistics(tmp_path, resamples=1000, seed=1, interval="percentile", resample="images").cells.set_index("metric").loc["mass_accuracy"]
    assert by_images.unit == "images" and by_images.ci_high - by_images.ci_low < 0.7 * (by_subjects.ci_high - by_subjects.ci_low)  # too narrow


def test_a_known_difference_between_two_networks_is_recovered_with_a_paired_interval(tmp_path):
    rng = np.random.default_rng(6)
    shares = rng.uniform(0.3, 0.7, 30)  # the faces differ a lot ...
    wobble = rng.normal(0, 0.02, 30)  # ... the networks on each face by little
    subjects = [f"s{i}" for i in range(30)]
    _artifact(tmp_path, "first", _half_maps(shares + 0.1 + wobble), subjects)
    _artifact(tmp_path, "second", _half_maps(shares), subjects)
    statistics = _statistics(tmp_path, resamples=2000, seed=2)
    row = statistics.differences.set_index("metric").loc["mass_accuracy"]
    assert row.network == "first" and row.other == "second" and row.classes == 1
    assert row.difference == pytest.approx(0.1 + wobble.mean(), abs=2e-3)
    expected = 2 * 1.96 * wobble.std(ddof=1) / np.sqrt(30)  # the paired difference's own spread, not the faces'
    assert row.ci_high - row.ci_low == pytest.approx(expected, rel=0.25)
    assert row.ci_low < 0.1 + wobble.mean() < row.ci_high and row.p_value < 0.01 and row.level == "subjects (the trained models fixed)"


def test_sets_without_evidence_get_what_needs_none_and_say_so(tmp_path):
    make_artifact(tmp_path / "old", "legacy", 1)
    make_evidence_artifact(tmp_path / "new", "modern")
    analysis = analyze_collection(LocalSource(paths=[str(tmp_path)]).collect(Filters()), load_families({"ekman": "ekman"}), Threshold(), progress=False)
    statistics = compute_statistics(analysis, StatisticsSettings(resamples=50))
    assert set(statistics.cells.network) == {"modern"} and set(statistics.reliability.network) == {"modern"}
    assert any("legacy: not available: re-explain with ferlens >= 0.2.0" in note for note in statistics.notes)
    legacy = statistics.means.set_index("network").loc["legacy"]
    assert legacy.ci_low.isna().all() and np.isfinite(legacy.expressions_ci_low).all()  # no image interval; the t over expressions
    assert np.isnan(statistics.means.set_index("network").loc[GRAND_MEAN, "ci_low"]).all()  # not all networks have evidence


def test_several_folds_give_network_means_and_differences_over_folds(tmp_path):
    for fold in (1, 2, 3):
        make_artifact(tmp_path / f"a{fold}", "alpha", fold, seed=fold)
        make_artifact(tmp_path / f"b{fold}", "beta", fold, seed=10 + fold)
    analysis = analyze_collection(LocalSource(paths=[str(tmp_path)]).collect(Filters()), load_families({"ekman": "ekman"}), Threshold(), progress=False)
    statistics = compute_statistics(analysis, StatisticsSettings(resamples=50))
    folds = analysis.scores[(analysis.scores.fold != "pooled") & (analysis.scores.metric == "iou")]
    per_fold = folds.groupby(["network", "fold"]).value.mean().unstack("fold")  # each fold's mean over expressions
    fold_means = statistics.fold_means[statistics.fold_means.metric == "iou"].set_index("network")
    assert fold_means.loc["alpha", "mean"] == pytest.approx(per_fold.loc["alpha"].mean()) and fold_means.loc["alpha", "folds"] == 3
    half = 4.303 * per_fold.loc["alpha"].std(ddof=1) / np.sqrt(3)  # t with 2 degrees of freedom
    assert fold_means.loc["alpha", "ci_high"] - fold_means.loc["alpha", "mean"] == pytest.approx(half, rel=1e-3)
    mean = statistics.means[statistics.means.metric == "iou"].set_index("network").loc["alpha"]
    assert mean.level.startswith("folds and their faces (t over 3 folds)") and mean.ci_high - mean.ci_low == pytest.approx(2 * half, rel=1e-3)
    difference = statistics.differences[statistics.differences.metric == "iou"].iloc[0]
    paired = per_fold.loc["alpha"] - per_fold.loc["beta"]
    assert difference.ci_high - difference.ci_low == pytest.approx(2 * 4.303 * paired.std(ddof=1) / np.sqrt(3), rel=1e-3)


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
     ({"resamples": 0}, "statistics.resamples=0 is not valid"), ({"confidence": 95}, "use a level between 0 and 1"),
     ({"headline": "accuracy"}, "statistics.headline='accuracy' is not a metric"), ({"interval": "student"}, "statistics.interval='student' is not valid")],
)  # fmt: skip
def test_bad_settings_are_one_sentence(setting, needle):
    with pytest.raises(UserError, match=needle):
        StatisticsSettings(**setting)


def test_an_au_guided_run_is_compared_with_the_same_network_unguided(tmp_path):
    make_artifact(tmp_path / "plain", "resnet50", 1, seed=1)
    make_artifact(tmp_path / "guided", "resnet50", 1, seed=2, au_guidance=0.5)
    make_artifact(tmp_path / "other", "vgg16", 1, seed=3)
    analysis = analyze_collection(LocalSource(paths=[str(tmp_path)]).collect(Filters()), load_families({"au": "au"}), Threshold(), progress=False)
    differences = compute_statistics(analysis, StatisticsSettings(resamples=50)).differences
    guided = differences[differences.comparison == "guided - unguided"]
    assert len(guided) == 10 and guided.network.str.contains("AU").all() and not guided.other.str.contains("AU").any()  # the guided run first
    scores = analysis.scores[(analysis.scores.fold == "pooled") & (analysis.scores.metric == "iou")].groupby("network").value.mean()
    row = guided.set_index("metric").loc["iou"]
    assert row.difference == pytest.approx(scores[row.network] - scores[row.other]) and row.level == "the expressions (paired t over 6)"
    assert (differences[differences.comparison == "pair"].shape[0]) == 20  # the two pairs with vgg16
