"""The report's answers, computed from the statistics: per method and network, is the map
specific to the expression, is it above the face prior, is it reliable, does it pass the
randomisation check, is it faithful, and how the networks rank (``analysis/report/findings_text.py``
puts them into words and tables).

Thresholds: a claim is specific when its Benjamini-Hochberg adjusted p is below
``statistics.fdr``; a map is above the face prior when the interval of its specific alignment
(score - face-prior score, network mean) lies above 0; reliable when the split-half
reliability of every expression's map reaches ``statistics.reliability_threshold``;
faithful when its normalised deletion AUC is lower and its ROAD score higher than the same
network's random CAM maps (``random_cam``, the random-map reference) in the same report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ferlens.analysis.heatmap_set import POOLED
from ferlens.analysis.pipeline import Analysis
from ferlens.analysis.sanity import FAILS, faithfulness_table, randomisation_table
from ferlens.analysis.statistics import Statistics
from ferlens.analysis.statistics.baselines import FACE_PRIOR
from ferlens.analysis.statistics.specificity import POOLED_NETWORKS

ESTIMATE_COLUMNS = ["panel", "label", "value", "low", "high"]
#: the panel of the network means in ``alignment_estimates``
MEAN_PANEL = "mean over expressions"
#: the explainer whose maps are the random-map reference of faithfulness
RANDOM_MAPS = "random_cam"
#: the faithfulness columns a verdict compares (``sanity_report.FAITHFULNESS_COLUMNS``): lower / higher is better
DELETION = "deletion AUC / p (lower = more faithful)"
ROAD = "ROAD combined / p (higher)"


@dataclass(frozen=True)
class Estimate:
    """A value with its interval (NaN where not known)."""

    value: float
    low: float = float("nan")
    high: float = float("nan")

    @property
    def has_interval(self) -> bool:
        return bool(np.isfinite(self.low) and np.isfinite(self.high))

    @property
    def sign(self) -> int | None:
        """+1 when the interval lies above 0, -1 below, 0 when it holds 0; None without an interval."""
        if not self.has_interval:
            return None
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


@dataclass(frozen=True)
class Test:
    """A permutation test of the mask labels: raw and adjusted p (NaN: not a claim or not run)."""

    p_value: float
    p_adjusted: float

    def significant(self, alpha: float) -> bool | None:
        return None if not np.isfinite(self.p_adjusted) else bool(self.p_adjusted < alpha)


@dataclass(frozen=True)
class Faithfulness:
    """Normalised deletion AUC and ROAD of the network's maps and of its random-map reference."""

    deletion: float
    road: float
    random_deletion: float = float("nan")
    random_road: float = float("nan")

    @property
    def faithful(self) -> bool | None:
        """Deletion lower and ROAD higher than the random maps'; None without a reference."""
        values = (self.deletion, self.road, self.random_deletion, self.random_road)
        if not all(np.isfinite(values)):
            return None
        return bool(self.deletion < self.random_deletion and self.road > self.random_road)


@dataclass(frozen=True)
class Verdict:
    """One network's answers under one method: per mask family the headline ``score``, the
    mask-label ``specificity`` test and the specific ``alignment``; over all families the
    lowest whole-map split-half ``reliability`` (NaN: not measured), the randomisation check
    (True passes, False fails, None not run), ``faithfulness`` (None not measured) and the
    validation ``accuracy`` of the weights explained (NaN unknown; mean over folds)."""

    network: str
    score: dict[str, Estimate]
    specificity: dict[str, Test]
    alignment: dict[str, Estimate]
    reliability: float
    randomisation: bool | None
    faithfulness: Faithfulness | None
    accuracy: float

    def reliable(self, threshold: float) -> bool | None:
        return None if not np.isfinite(self.reliability) else bool(self.reliability >= threshold)


@dataclass(frozen=True)
class Step:
    """Two networks next to each other in a ranking: ``first`` - ``second`` of the headline score."""

    first: str
    second: str
    difference: Estimate
    p_adjusted: float


@dataclass(frozen=True)
class MethodFindings:
    """The answers for one method: its networks' ``verdicts`` (in the report's order), the
    headline ``metrics`` per mask family, the test pooled over the networks per family, the
    ``ranking`` per family (networks by headline score, best first, with the differences of
    neighbours), the thresholds ``alpha`` (FDR) and ``reliability_threshold``."""

    method: str
    split: str
    metrics: dict[str, str]
    verdicts: list[Verdict]
    pooled: dict[str, Test]
    ranking: dict[str, list[Step]]
    alpha: float
    reliability_threshold: float
    randomisation_threshold: float | None

    @property
    def networks(self) -> list[str]:
        return [verdict.network for verdict in self.verdicts]


def _test(tests, network: str) -> Test:
    row = tests[tests.network == network]
    if row.empty:
        return Test(float("nan"), float("nan"))
    return Test(float(row.p_value.iloc[0]), float(row.p_adjusted.iloc[0]))


def _accuracy(analysis: Analysis, method: str, network: str) -> float:
    """The mean validation accuracy of the weights behind the network's folds (NaN unknown)."""
    values = [
        s.manifest.weights.val_acc
        for s in analysis.sets
        if s.method == method and s.network == network and s.fold != POOLED and s.manifest is not None
        and s.manifest.weights is not None and s.manifest.weights.val_acc is not None
    ]  # fmt: skip
    return float(np.mean(values)) if values else float("nan")


def _faithfulness(analysis: Analysis, method: str, family: str) -> dict[str, Faithfulness]:
    own = faithfulness_table(analysis, method, family)
    if own is None:
        return {}
    reference = faithfulness_table(analysis, RANDOM_MAPS, family) if RANDOM_MAPS in analysis.methods and method != RANDOM_MAPS else None
    result = {}
    for network, row in own.iterrows():
        random = reference.loc[network] if reference is not None and network in reference.index else None
        result[network] = Faithfulness(
            float(row[DELETION]),
            float(row[ROAD]),
            float(random[DELETION]) if random is not None else float("nan"),
            float(random[ROAD]) if random is not None else float("nan"),
        )
    return result


def _ranking(statistics: Statistics, method: str, family: str, metric: str, scores: dict[str, Estimate]) -> list[Step]:
    """Networks by their headline mean score, best first; each step with the paired difference to the next."""
    order = sorted((network for network in scores if np.isfinite(scores[network].value)), key=lambda network: -scores[network].value)
    differences = statistics.differences
    chosen = differences[
        (differences.method == method) & (differences.mask_family == family) & (differences.metric == metric) & (differences.comparison == "pair")
    ]
    steps = []
    for first, second in zip(order, order[1:], strict=False):
        row = chosen[(chosen.network == first) & (chosen.other == second)]
        sign = 1.0
        if row.empty:
            row, sign = chosen[(chosen.network == second) & (chosen.other == first)], -1.0
        if row.empty:
            steps.append(Step(first, second, Estimate(scores[first].value - scores[second].value), float("nan")))
            continue
        row = row.iloc[0]
        low, high = sorted((sign * row.ci_low, sign * row.ci_high))
        steps.append(Step(first, second, Estimate(sign * float(row.difference), float(low), float(high)), float(row.p_adjusted)))
    return steps


def method_findings(analysis: Analysis, statistics: Statistics, method: str) -> MethodFindings:
    """The answers for ``method`` from the statistics and the artifacts' sanity checks."""
    settings = statistics.settings
    networks = [s.network for s in analysis.pooled(method)]
    metrics = {family: settings.headline_of(family) for family in analysis.families}
    reliability = statistics.reliability[statistics.reliability.method == method]
    randomised = randomisation_table(analysis, method)
    faithful = _faithfulness(analysis, method, next(iter(analysis.families)))
    per_family: dict[str, dict[str, tuple[Estimate, Test, Estimate]]] = {}
    pooled = {}
    for family, metric in metrics.items():
        means = statistics.means[(statistics.means.method == method) & (statistics.means.mask_family == family) & (statistics.means.metric == metric)]
        tests = statistics.permutation[
            (statistics.permutation.method == method) & (statistics.permutation.mask_family == family) & (statistics.permutation.metric == metric)
        ]
        pooled[family] = _test(tests, POOLED_NETWORKS)
        estimates = alignment_estimates(analysis, statistics, method, family)
        points = estimates[estimates.panel == MEAN_PANEL].set_index("label").value
        rows = {}
        for network in networks:
            mean = means[means.network == network]
            if mean.empty:
                score, alignment = Estimate(float("nan")), Estimate(float("nan"))
            else:
                mean = mean.iloc[0]
                score = Estimate(float(mean.value), float(mean.ci_low), float(mean.ci_high))
                alignment = Estimate(float(mean.alignment), float(mean.alignment_ci_low), float(mean.alignment_ci_high))
                if not np.isfinite(alignment.value):  # no per-image evidence: the point estimate alone
                    alignment = Estimate(float(points.get(network, np.nan)))
            rows[network] = (score, _test(tests, network), alignment)
        per_family[family] = rows
    verdicts = []
    for network in networks:
        own = reliability[reliability.network == network].reliability
        verdicts.append(
            Verdict(
                network=network,
                score={family: rows[network][0] for family, rows in per_family.items()},
                specificity={family: rows[network][1] for family, rows in per_family.items()},
                alignment={family: rows[network][2] for family, rows in per_family.items()},
                reliability=float(own.min()) if len(own) and own.notna().all() else float("nan"),
                randomisation=None if randomised is None or network not in randomised.index else randomised.loc[network, "verdict"] != FAILS,
                faithfulness=faithful.get(network),
                accuracy=_accuracy(analysis, method, network),
            )
        )
    ranking = {
        family: _ranking(statistics, method, family, metric, {v.network: v.score[family] for v in verdicts}) for family, metric in metrics.items()
    } if len(networks) > 1 else {}  # fmt: skip
    threshold = None
    for heatmap_set in analysis.sets:
        if heatmap_set.method == method and heatmap_set.manifest is not None and heatmap_set.manifest.randomisation is not None:
            threshold = heatmap_set.manifest.randomisation.threshold
            break
    return MethodFindings(method, analysis.split_of(method), metrics, verdicts, pooled, ranking, settings.fdr, settings.reliability_threshold, threshold)


def findings(analysis: Analysis, statistics: Statistics) -> list[MethodFindings]:
    """``method_findings`` of every method, in the report's order."""
    return [method_findings(analysis, statistics, method) for method in analysis.methods]


def alignment_estimates(analysis: Analysis, statistics: Statistics, method: str, family: str) -> pd.DataFrame:
    """Per expression and network the specific alignment of the headline metric (score -
    face-prior score) with its interval where the cells have one, then per network the mean
    (panel "mean over expressions"); columns ``ESTIMATE_COLUMNS``, empty without a face prior."""
    metric = statistics.settings.headline_of(family)
    rows = []
    cells = statistics.cells[(statistics.cells.method == method) & (statistics.cells.mask_family == family) & (statistics.cells.metric == metric)]
    cells = cells.set_index(["network", "expression"])
    scores = (
        analysis.scores[
            (analysis.scores.method == method) & (analysis.scores.fold == POOLED) & (analysis.scores.mask_family == family) & (analysis.scores.metric == metric)
        ]
        .set_index(["network", "expression"])
        .value
    )
    baselines = statistics.baselines
    priors = baselines[(baselines.baseline == FACE_PRIOR) & (baselines.method == method) & (baselines.mask_family == family) & (baselines.metric == metric)]
    priors = priors.set_index(["network", "expression"]).value
    for expression in analysis.classes:
        for network in [s.network for s in analysis.pooled(method)]:
            key = (network, expression)
            if key in cells.index:
                cell = cells.loc[key]
                rows.append((expression, network, float(cell.alignment), float(cell.alignment_ci_low), float(cell.alignment_ci_high)))
            elif key in scores.index and key in priors.index:
                rows.append((expression, network, float(scores[key] - priors[key]), np.nan, np.nan))
    frame = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)
    if frame.empty:
        return frame
    means = statistics.means[(statistics.means.method == method) & (statistics.means.mask_family == family) & (statistics.means.metric == metric)]
    means = means.set_index("network")
    for network, group in frame.groupby("label", sort=False):
        if network in means.index and np.isfinite(means.loc[network, "alignment"]):
            mean = means.loc[network]
            rows.append((MEAN_PANEL, network, float(mean.alignment), float(mean.alignment_ci_low), float(mean.alignment_ci_high)))
        else:
            rows.append((MEAN_PANEL, network, float(group.value.mean()), np.nan, np.nan))
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)


def score_estimates(analysis: Analysis, statistics: Statistics, method: str, family: str) -> pd.DataFrame:
    """The study's headline table as estimates: per expression and network the headline
    score with its interval where the cells have one, then the network mean with its
    interval (over faces where evidence exists, else the t-interval over expressions)."""
    metric = statistics.settings.headline_of(family)
    cells = statistics.cells[(statistics.cells.method == method) & (statistics.cells.mask_family == family) & (statistics.cells.metric == metric)]
    cells = cells.set_index(["network", "expression"])
    scores = analysis.scores[
        (analysis.scores.method == method) & (analysis.scores.fold == POOLED) & (analysis.scores.mask_family == family) & (analysis.scores.metric == metric)
    ]
    rows = []
    for row in scores.itertuples():
        key = (row.network, row.expression)
        low, high = (float(cells.loc[key, "ci_low"]), float(cells.loc[key, "ci_high"])) if key in cells.index else (np.nan, np.nan)
        rows.append((row.expression, row.network, float(row.value), low, high))
    means = statistics.means[(statistics.means.method == method) & (statistics.means.mask_family == family) & (statistics.means.metric == metric)]
    for mean in means.itertuples():
        low, high = (mean.ci_low, mean.ci_high) if np.isfinite(mean.ci_low) else (mean.expressions_ci_low, mean.expressions_ci_high)
        rows.append(("network mean", mean.network, float(mean.value), float(low), float(high)))
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)


def difference_estimates(statistics: Statistics, method: str, family: str) -> pd.DataFrame:
    """Every pair of networks' paired difference of the headline score with its interval (one panel)."""
    metric = statistics.settings.headline_of(family)
    chosen = statistics.differences[
        (statistics.differences.method == method) & (statistics.differences.mask_family == family) & (statistics.differences.metric == metric)
        & (statistics.differences.comparison == "pair")
    ]  # fmt: skip
    rows = [("difference", f"{row.network} - {row.other}", float(row.difference), float(row.ci_low), float(row.ci_high)) for row in chosen.itertuples()]
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)
