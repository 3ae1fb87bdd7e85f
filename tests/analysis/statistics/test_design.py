import numpy as np
import pytest

from ferlens.analysis.statistics.design import ResamplingDesign


def _design(strata: np.ndarray) -> ResamplingDesign:
    return ResamplingDesign("subjects", strata, strata.astype(str), [])


def test_rescaled_draws_vary_a_stratified_mean_by_its_unbiased_variance():
    rng = np.random.default_rng(0)
    sizes = (8, 8, 4, 12)  # small strata: the plain bootstrap would give (n_s - 1) / n_s of the variance
    strata = np.repeat(np.arange(len(sizes)), sizes)
    values = rng.normal(0, 1, len(strata)) + strata  # each stratum its own level
    weights = _design(strata).draw(200_000, rng)
    for s, size in enumerate(sizes):  # every stratum keeps its weight in every replicate
        assert np.allclose(weights[:, strata == s].sum(axis=1), size, rtol=1e-5)
    means = weights @ values / len(values)
    unbiased = sum((size / len(values)) ** 2 * values[strata == s].var(ddof=1) / size for s, size in enumerate(sizes))
    assert means.mean() == pytest.approx(values.mean(), abs=1e-3)
    assert means.var() == pytest.approx(unbiased, rel=0.02)


def test_a_stratum_of_one_unit_keeps_it():
    weights = _design(np.array([0, 1, 1])).draw(50, np.random.default_rng(1))
    assert np.all(weights[:, 0] == 1.0) and np.allclose(weights[:, 1:].sum(axis=1), 2.0)
