"""Intervals and p-values from replicates against scipy and against their definitions."""

import numpy as np
import pytest
from scipy.stats import bootstrap, norm, ttest_1samp

from ferlens.analysis.statistics.intervals import bootstrap_intervals, bootstrap_p, expanded_alpha, row_quantiles, t_interval


def test_row_quantiles_equal_numpys_and_leave_nan_replicates_out():
    rng = np.random.default_rng(0)
    distribution = rng.normal(size=(3, 501))
    distribution[1, :100] = np.nan
    got = row_quantiles(distribution, np.array([0.025, 0.5, 0.975]))
    expected = [np.quantile(distribution[0], 0.025), np.nanquantile(distribution[1], 0.5), np.quantile(distribution[2], 0.975)]
    np.testing.assert_allclose(got, expected)
    assert np.isnan(row_quantiles(np.full((1, 5), np.nan), np.array([0.5]))[0])


def test_percentile_and_bca_match_scipy_on_the_same_replicates():
    data = np.random.default_rng(1).exponential(size=30)  # skewed: BCa and percentile differ
    result = bootstrap((data,), np.mean, n_resamples=4000, method="BCa", rng=np.random.default_rng(2))
    distribution = result.bootstrap_distribution[None]
    jackknife = np.array([[np.delete(data, i).mean() for i in range(len(data))]])
    ours = bootstrap_intervals(distribution, np.array([data.mean()]), np.array([30]), 0.95, "bca", jackknife)
    assert ours.low[0] == pytest.approx(result.confidence_interval.low, rel=2e-3) and ours.high[0] == pytest.approx(result.confidence_interval.high, rel=2e-3)
    percentile = bootstrap_intervals(distribution, np.array([data.mean()]), np.array([30]), 0.95, "percentile")
    assert percentile.low[0] == pytest.approx(np.quantile(distribution, 0.025)) and percentile.high[0] == pytest.approx(np.quantile(distribution, 0.975))
    basic = bootstrap_intervals(distribution, np.array([data.mean()]), np.array([30]), 0.95, "basic")
    assert basic.low[0] == pytest.approx(2 * data.mean() - percentile.high[0])


def test_expanded_percentile_widens_small_samples_to_the_t_quantile():
    assert expanded_alpha(0.05, np.array([1000]))[0] == pytest.approx(0.05, rel=0.01)  # large samples: the nominal level
    n = 8
    assert expanded_alpha(0.05, np.array([n]))[0] == pytest.approx(2 * norm.cdf(-2.3646), rel=1e-3)  # t_{7, 0.975} = 2.3646
    assert np.isnan(expanded_alpha(0.05, np.array([1]))[0])


def test_fewer_than_two_units_give_no_interval():
    distribution = np.random.default_rng(3).normal(size=(2, 200))
    for method in ("expanded", "percentile", "basic", "bca"):
        out = bootstrap_intervals(distribution, np.zeros(2), np.array([1, 5]), 0.95, method, np.zeros((2, 5)))
        assert np.isnan(out.low[0]) and np.isnan(out.high[0]) and np.isfinite(out.low[1])


def test_t_interval_is_scipys_one_sample_t():
    values = np.array([[0.21, 0.35, 0.28, 0.40, 0.19], [1.0, np.nan, 3.0, np.nan, np.nan]])
    got = t_interval(values, 0.95)
    test = ttest_1samp(values[0], 0.0)
    reference = test.confidence_interval(0.95)
    assert got.low[0] == pytest.approx(reference.low) and got.high[0] == pytest.approx(reference.high) and got.p_value[0] == pytest.approx(test.pvalue)
    assert got.count[1] == 2 and got.mean[1] == 2.0
    moved = t_interval(values[:1], 0.95, centre=np.array([0.5]))
    assert moved.high[0] - moved.low[0] == pytest.approx(reference.high - reference.low) and (moved.low[0] + moved.high[0]) / 2 == pytest.approx(0.5)
    assert np.isnan(t_interval(np.array([[0.3, np.nan]]), 0.95).low[0])  # one value: no interval


def test_bootstrap_p_is_small_for_a_clear_effect_and_uniform_under_the_null():
    rng = np.random.default_rng(4)
    assert bootstrap_p(rng.normal(1.0, 0.2, (1, 999)))[0] == pytest.approx(2 / 1000)
    null_p = bootstrap_p(rng.normal(0, 1, (1, 999)) + rng.normal(0, 1, (400, 1)))  # the replicates centred on a noisy estimate of 0
    assert 0.02 < np.mean(null_p <= 0.05) < 0.09
