"""Bootstrap intervals against cases whose answer is known."""

import numpy as np
import pytest
from scipy.stats import bootstrap

from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.sources import LocalSource
from ferlens.analysis.sources.base import Filters
from ferlens.analysis.statistics import StatisticsSettings, compute_statistics
from ferlens.formats.evidence import evidence_from_maps, pool_to_evidence
from ferlens.formats.heatmap_artifact import write_artifact
from ferlens.scoring.masks import MaskFamily
from ferlens.scoring.scores import Threshold
from tests.analysis.helpers import CLASSES, made_up_manifest

LEFT_HALF: MaskFamily = {"Anger": np.zeros((275, 224), bool)}
LEFT_HALF["Anger"][:, :112] = True  # block-aligned: the evidence grid sees it exactly


def _half_maps(shares: np.ndarray) -> np.ndarray:
    """[n, 275, 224]: image i puts mass share_i on the left half and 1 - share_i on the right,
    so the mass accuracy of any mean of them is the mean of their shares."""
    maps = np.empty((len(shares), 275, 224), np.float32)
    maps[:, :, :112] = shares[:, None, None]
    maps[:, :, 112:] = 1 - shares[:, None, None]
    return maps


def _artifact(tmp_path, maps: np.ndarray, subjects: list[str]) -> None:
    """One network whose only non-empty class (Anger) holds ``maps``."""
    n = len(maps)
    target = np.zeros(n, np.int64)
    evidence = evidence_from_maps(pool_to_evidence(maps), np.arange(n), target, target, target, subjects, [f"{i}.png" for i in range(n)])
    heatmaps = np.zeros((6, 275, 224), np.float32)
    heatmaps[0] = maps.mean(axis=0)
    manifest = made_up_manifest("gradcam", model="net", fold=1, pretrained=False, seed=0, epoch=0)
    write_artifact(tmp_path / "heatmaps" / "gradcam", heatmaps, [n, 0, 0, 0, 0, 0], CLASSES, manifest, evidence)


def _statistics(tmp_path, **settings):
    analysis = analyze_collection(LocalSource(paths=[str(tmp_path)]).collect(Filters()), {"half": LEFT_HALF}, Threshold(), progress=False)
    return compute_statistics(analysis, StatisticsSettings(**settings))


def test_a_mean_over_images_gets_scipys_percentile_interval_and_the_formulas_width(tmp_path):
    shares = np.random.default_rng(3).uniform(0.3, 0.9, 40)
    _artifact(tmp_path, _half_maps(shares), [""] * 40)  # subjects unknown: images are resampled
    statistics = _statistics(tmp_path, resamples=2000, seed=7, batch=50)
    cell = statistics.cells.set_index("metric").loc["mass_accuracy"]
    assert cell.unit == "images" and cell.units == 40 and cell.value == pytest.approx(shares.mean(), abs=1e-4) and abs(cell.offset) < 1e-3
    reference = bootstrap((np.arange(40),), lambda i, axis: shares[i].mean(axis=axis), n_resamples=2000, batch=50, vectorized=True,
                          method="percentile", rng=np.random.default_rng(7)).confidence_interval  # fmt: skip
    # the same resamples of the same images: the same interval, up to the float16 storage of the maps
    assert cell.ci_low == pytest.approx(reference.low, abs=2e-3) and cell.ci_high == pytest.approx(reference.high, abs=2e-3)
    half_width = 1.96 * shares.std(ddof=0) / np.sqrt(len(shares))  # the normal approximation of a mean's interval
    assert (cell.ci_high - cell.ci_low) / 2 == pytest.approx(half_width, rel=0.12)
    mean = statistics.means.set_index(["network", "metric"]).loc[("net", "mass_accuracy")]
    assert mean.ci_low == pytest.approx(cell.ci_low) and mean.first_share_images == 1.0  # one class, one network


def test_subjects_are_resampled_not_their_images(tmp_path):
    subject_shares = np.random.default_rng(4).uniform(0.2, 0.8, 10)
    shares = np.repeat(subject_shares, 4)  # 4 identical images per face: 10 independent observations, not 40
    _artifact(tmp_path, _half_maps(shares), [f"s{i // 4}" for i in range(40)])
    cell = _statistics(tmp_path, resamples=1000, seed=1).cells.set_index("metric").loc["mass_accuracy"]
    assert cell.unit == "subjects" and cell.units == 10 and cell.images == 40
    reference = bootstrap((np.arange(10),), lambda i, axis: subject_shares[i].mean(axis=axis), n_resamples=1000, batch=50, vectorized=True,
                          method="percentile", rng=np.random.default_rng(1)).confidence_interval  # fmt: skip
    assert cell.ci_low == pytest.approx(reference.low, abs=2e-3) and cell.ci_high == pytest.approx(reference.high, abs=2e-3)
    by_images = _statistics(tmp_path, resamples=1000, seed=1, resample="images").cells.set_index("metric").loc["mass_accuracy"]
    assert by_images.unit == "images" and by_images.ci_high - by_images.ci_low < 0.7 * (cell.ci_high - cell.ci_low)  # too narrow: 40 "independent" images


def test_split_half_reliability_follows_spearman_brown(tmp_path):
    rng = np.random.default_rng(5)
    y, x = np.mgrid[:275, :224] / 40.0
    signal = np.sin(x) * np.cos(y)  # a signal constant over each evidence block would be exact; this one nearly is
    n, sigma = 24, 2.0
    maps = (signal[None] + sigma * rng.standard_normal((n, 275, 224))).astype(np.float32)
    _artifact(tmp_path, maps, [""] * n)
    reliability = _statistics(tmp_path, resamples=20, split_halves=300).reliability.iloc[0]
    signal_variance = pool_to_evidence(signal).var()
    noise_variance = sigma**2 / 20  # per evidence pixel: the mean of 20 template pixels
    expected = signal_variance / (signal_variance + noise_variance / n)  # the reliability of a mean of n images
    assert reliability.reliability == pytest.approx(expected, abs=0.02)
    half = signal_variance / (signal_variance + noise_variance / (n / 2))
    assert reliability.split_half_r == pytest.approx(half, abs=0.03)
    assert reliability.unit == "images" and reliability.units == n
