"""Explainer dependence against references and planted truths: Kendall's W against Friedman's
test (scipy) and Spearman, the variance components against simulated population values, and
a planted pure-noise method: lowest region fidelity, and the share of variance it should take."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import friedmanchisquare, spearmanr

from ferlens.analysis.statistics.explainer_dependence import (
    image_fidelity,
    kendalls_w,
    network_agreement,
    ranking_flips,
    region_fidelity,
    region_mass,
    variance_components,
)


def test_kendalls_w_is_friedmans_statistic_scaled_and_spearman_for_two_raters():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(5, 8)) + np.arange(8)  # 5 methods agreeing in part on 8 networks
    scores[0, :2] = scores[0, 2]  # ties
    ours = kendalls_w(scores)
    reference = friedmanchisquare(*scores.T)
    assert ours.chi2 == pytest.approx(reference.statistic, rel=1e-10) and ours.p_value == pytest.approx(reference.pvalue, rel=1e-8)
    assert ours.w == pytest.approx(reference.statistic / (5 * 7), rel=1e-10)
    two = rng.normal(size=(2, 9))
    assert kendalls_w(two).w == pytest.approx((spearmanr(two[0], two[1]).statistic + 1) / 2, rel=1e-10)
    assert kendalls_w(np.tile(np.arange(6.0), (4, 1))).w == pytest.approx(1.0)  # perfect agreement


def cells(cube: np.ndarray) -> pd.DataFrame:
    a, b, c = cube.shape
    index = pd.MultiIndex.from_product(
        [[f"m{i}" for i in range(a)], [f"n{i:02d}" for i in range(b)], [f"e{i:02d}" for i in range(c)]], names=["method", "network", "expression"]
    )
    return pd.DataFrame({"score": cube.ravel()}, index=index).reset_index()


def test_variance_components_recover_simulated_population_values():
    """A three-way random-effects model with known components, 60 data sets of 10 x 12 x 10:
    the mean estimates are within 15 % of the population variances (the method's main effect
    rests on 10 levels per data set: its estimate's relative standard error is about 0.6 / sqrt(60))."""
    population = {
        "method": 0.5,
        "network": 1.0,
        "expression": 0.8,
        "method x network": 0.3,
        "method x expression": 0.2,
        "network x expression": 0.4,
        "residual": 0.25,
    }
    rng = np.random.default_rng(1)
    a, b, c = 10, 12, 10
    estimates = []
    for _ in range(60):
        effect = lambda name, *shape: rng.normal(0, np.sqrt(population[name]), shape)  # noqa: E731
        cube = (
            effect("method", a, 1, 1) + effect("network", 1, b, 1) + effect("expression", 1, 1, c)
            + effect("method x network", a, b, 1) + effect("method x expression", a, 1, c)
            + effect("network x expression", 1, b, c) + effect("residual", a, b, c)
        )  # fmt: skip
        estimates.append(variance_components(cells(cube)).set_index("component").variance)
    mean = pd.concat(estimates, axis=1).mean(axis=1)
    for name, value in population.items():
        assert mean[name] == pytest.approx(value, rel=0.15), name


def test_a_pure_noise_method_takes_the_share_it_should():
    """Three methods give the same scores (network + expression + their interaction, variance
    V), a fourth pure noise of variance V: the parts shared across methods are the mean
    covariance of two methods' cells, (3 x V + 3 x 0) / 6 = V / 2, so half the variance goes
    with the method (its main effect, interactions and the residual); without the noise
    method none does."""
    rng = np.random.default_rng(2)
    signal = rng.normal(0, 1, (1, 40, 1)) + rng.normal(0, 1, (1, 1, 12)) + rng.normal(0, 1, (1, 40, 12))
    methods = np.repeat(signal, 3, axis=0)
    shares = variance_components(cells(methods)).set_index("component").share
    method_parts = ["method", "method x network", "method x expression", "residual"]
    assert shares[method_parts].sum() == pytest.approx(0.0, abs=1e-12)
    noise = rng.normal(signal.mean(), signal.std(), (1, 40, 12))
    shares = variance_components(cells(np.concatenate([methods, noise]))).set_index("component").share
    assert shares[method_parts].sum() == pytest.approx(0.5, abs=0.06)


def test_the_noise_method_has_the_lowest_region_fidelity():
    """Eight regions, disjoint blocks of a 16 x 32 grid; per image the importance of each region
    is planted; a faithful method puts its mass where the importance is (plus a little noise), a
    coarse one with more noise, a noise method at random."""
    rng = np.random.default_rng(3)
    masks = np.zeros((8, 16, 32), bool)
    for r in range(8):
        masks[r, (r // 4) * 8 : (r // 4) * 8 + 8, (r % 4) * 8 : (r % 4) * 8 + 8] = True
    importance = rng.normal(size=(60, 8))

    def maps(noise: float) -> np.ndarray:
        level = np.exp(importance + noise * rng.normal(size=importance.shape))  # positive, monotone in the importance
        return np.einsum("nr,rhw->nhw", level, masks.astype(float))

    faithful = image_fidelity(region_mass(maps(0.2), masks), importance)
    coarse = image_fidelity(region_mass(maps(1.0), masks), importance)
    noise = image_fidelity(region_mass(rng.random((60, 16, 32)), masks), importance)
    table = region_fidelity({"faithful": faithful, "coarse": coarse, "noise": noise}, 500, 0.95, 0).set_index("method")
    assert table.fidelity.idxmin() == "noise" and table.fidelity.idxmax() == "faithful"
    assert table.loc["noise", "low"] < 0 < table.loc["noise", "high"]  # no better than chance
    assert table.loc["faithful", "low"] > table.loc["coarse", "high"] > table.loc["noise", "high"]
    assert table.loc["faithful", "images"] == 60


def test_network_agreement_and_flips_from_tidy_scores():
    rows = []
    for method, order in (("gradcam", [3, 2, 1]), ("ig", [3, 1, 2]), ("occlusion", [3, 2, 1])):
        for network, value in zip(("a", "b", "c"), order, strict=True):
            rows += [(network, 1, method, e, "ekman", "iou", value + 0.01 * k) for k, e in enumerate(("Anger", "Fear"))]
    scores = pd.DataFrame(rows, columns=["network", "fold", "method", "expression", "mask_family", "metric", "value"])
    row, table = network_agreement(scores, "ekman", "iou")
    assert row[2:4] == [3, 3] and row[4] == pytest.approx(kendalls_w(table.to_numpy()).w)
    flips = ranking_flips(table).set_index(["network", "other"])
    assert flips.loc[("a", "b"), "verdict"] == "holds" and flips.loc[("b", "c"), "verdict"] == "flips"
    assert flips.loc[("b", "c"), "share_of_methods_above"] == pytest.approx(2 / 3)
