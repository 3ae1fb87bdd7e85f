import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from ferlens.analysis.statistics.multiplicity import adjust_claims, is_claim
from ferlens.analysis.statistics.settings import StatisticsSettings


def test_every_claim_of_the_headline_metric_is_adjusted_together_and_the_rest_is_exploratory():
    settings = StatisticsSettings(headline={"ekman": "iou", "au": "mass_accuracy"}, fdr=0.05)
    permutation = pd.DataFrame(
        {"network": ["a", "b", "a", "a"], "method": "gradcam", "mask_family": ["ekman", "ekman", "au", "ekman"],
         "metric": ["iou", "iou", "mass_accuracy", "ncc"], "p_value": [0.001, 0.04, 0.03, 0.0001]}
    )  # fmt: skip
    differences = pd.DataFrame(
        {"network": ["a"], "other": ["b"], "comparison": ["pair"], "method": "gradcam", "mask_family": ["ekman"], "metric": ["iou"], "p_value": [0.02]}
    )
    groups = pd.DataFrame({"method": ["gradcam"], "expression": ["all"], "p_value": [0.3]})
    claims = adjust_claims(
        {
            "permutation": (permutation, "p_value", is_claim(permutation, settings)),
            "differences": (differences, "p_value", is_claim(differences, settings)),
            "groups": (groups, "p_value", np.ones(1, bool)),
        },
        settings,
    )
    raw = [0.001, 0.04, 0.03, 0.02, 0.3]  # the NCC test is exploratory: not a claim
    np.testing.assert_allclose(claims.p_adjusted, false_discovery_control(raw))
    assert np.isnan(permutation.p_adjusted[3]) and permutation.p_adjusted[0] == claims.p_adjusted[0]
    assert differences.p_adjusted[0] == claims.p_adjusted[3] and list(claims.significant) == [True, True, True, True, False]
    assert claims.claim[3] == "a - b (pair)"


def test_under_the_global_null_few_reports_claim_anything():
    rng = np.random.default_rng(0)
    settings = StatisticsSettings()
    reports = []
    for _ in range(2000):
        tests = pd.DataFrame({"network": list("abcdefgh"), "method": "m", "mask_family": "ekman", "metric": "iou", "p_value": rng.uniform(size=8)})
        claims = adjust_claims({"permutation": (tests, "p_value", is_claim(tests, settings))}, settings)
        reports.append(claims.significant.any())
    assert 0.035 < np.mean(reports) < 0.06  # Benjamini-Hochberg under the global null: the family-wise rate is the FDR, 0.05
