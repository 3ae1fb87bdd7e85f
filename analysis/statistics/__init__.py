"""Every score with its uncertainty and its chance level (``compute_statistics``):

- baselines (``baselines.py``): the face prior, a centre-bias Gaussian, a uniform face, and
  random-weights models of the same networks when given; the headline "specific alignment"
  is score - face-prior score;
- specificity (``specificity.py``): each heatmap against its own and the other expressions'
  masks, and a permutation test of the mask labels per network and pooled;
- confidence intervals (``resampling.py``): 95 % percentile bootstrap intervals of every cell,
  network mean and grand mean from the per-image evidence, resampling subjects within class
  where subjects are known, else images; the share of resamples in which each network ranks
  first (over images, and over the expressions); the fold-level spread (SD, ddof = 1);
- reliability (``reliability.py``): split-half correlation with the Spearman-Brown correction;
- cluster stability (``cluster_stability.py``): trees under three linkages, bootstrap
  probabilities of their clusters, and a permutation test of pretrained vs from scratch.

Sets without per-image evidence (the study's PNGs, artifacts of ferlens < 0.2.0) get every
statistic that needs none; the others are reported as ``NO_EVIDENCE``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from ferlens.analysis.aggregate import network_table
from ferlens.analysis.clustering import correlation_matrix
from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.analysis.statistics.baselines import FACE_PRIOR, baseline_scores
from ferlens.analysis.statistics.cluster_stability import (
    LINKAGES,
    ClusterCase,
    ImageClusterObserver,
    block_correlations,
    group_test,
    linkage_tree,
    support,
    tree_clusters,
)
from ferlens.analysis.statistics.reliability import split_half
from ferlens.analysis.statistics.resampling import INTERVALS, UNITS, ReplicateStatistic, cells_of, run_bootstrap, shifted_intervals, unit_of
from ferlens.analysis.statistics.specificity import specificity
from ferlens.formats.evidence import NO_EVIDENCE
from ferlens.scoring.scores import METRICS
from ferlens.user_errors import UserError

log = logging.getLogger(__name__)

CELL_COLUMNS = [
    "network",
    "method",
    "mask_family",
    "metric",
    "expression",
    "value",
    "ci_low",
    "ci_high",
    "prior",
    "prior_ci_low",
    "prior_ci_high",
    "alignment",
    "alignment_ci_low",
    "alignment_ci_high",
    "offset",
    "bias",
    "unit",
    "units",
    "images",
]
MEAN_COLUMNS = [
    "network",
    "method",
    "mask_family",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "alignment",
    "alignment_ci_low",
    "alignment_ci_high",
    "first_share_images",
    "first_share_expressions",
    "expressions_ci_low",
    "expressions_ci_high",
]
RELIABILITY_COLUMNS = ["network", "method", "expression", "unit", "units", "split_half_r", "reliability"]
CLUSTER_COLUMNS = ["method", "expression", "linkage", "cluster", "size", "height", "bp", "resampling"]
GROUP_COLUMNS = ["method", "expression", "networks", "pretrained", "within", "between", "difference", "p_value", "permutations", "exact"]
SPREAD_COLUMNS = ["network", "method", "mask_family", "metric", "expression", "folds", "mean", "sd"]
GRAND_MEAN = "grand mean"
ALL_EXPRESSIONS = "all"


@dataclass(frozen=True)
class StatisticsSettings:
    """The ``statistics`` config of analyze.py.

    resamples: bootstrap resamples (cells, means, rank stability, cluster support).
    confidence: level of the intervals. interval: scipy's method (``INTERVALS``; percentile
    by default, BCa corrects the bias that the ``bias`` column shows, at one more statistic
    evaluation per resampling unit). resample: ``UNITS``.
    permutations: Monte Carlo permutations where a test is not exact.
    split_halves: random halvings for the reliability. reliability_threshold: maps below it are marked.
    linkages: trees drawn and supported. centre_sigma: the centre-bias Gaussian's SD (fraction
    of the template's width and height). seed: every random draw. batch: resamples per
    vectorised step (memory: about batch x cells x 3080 floats).
    """

    enabled: bool = True
    resamples: int = 2000
    confidence: float = 0.95
    interval: str = "percentile"
    resample: str = "auto"
    permutations: int = 9999
    split_halves: int = 200
    reliability_threshold: float = 0.8
    linkages: tuple[str, ...] = LINKAGES
    centre_sigma: float = 0.25
    seed: int = 0
    batch: int = 50

    def __post_init__(self) -> None:
        object.__setattr__(self, "linkages", tuple(self.linkages))
        if self.interval not in INTERVALS:
            raise UserError(f"statistics.interval={self.interval!r} is not valid: use one of {', '.join(INTERVALS)}.")
        if self.resample not in UNITS:
            raise UserError(f"statistics.resample={self.resample!r} is not valid: use one of {', '.join(UNITS)}.")
        unknown = [name for name in self.linkages if name not in LINKAGES]
        if unknown:
            raise UserError(f"statistics.linkages has {', '.join(unknown)}: use some of {', '.join(LINKAGES)}.")
        for name, low in (("resamples", 10), ("permutations", 10), ("split_halves", 2), ("batch", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UserError(f"statistics.{name}={value!r} is not valid: use a whole number >= {low}.")
        if not 0 < self.confidence < 1:
            raise UserError(f"statistics.confidence={self.confidence!r} is not valid: use a level between 0 and 1, e.g. 0.95.")
        if not 0 < self.centre_sigma <= 2:
            raise UserError(f"statistics.centre_sigma={self.centre_sigma!r} is not valid: use a fraction of the template size, e.g. 0.25.")


@dataclass
class Tree:
    """One dendrogram of the report: ``labels``, scipy ``linkage`` [N-1, 4], and the bootstrap
    probability of the cluster formed at each merge (NaN for the root) with how it was resampled."""

    labels: list[str]
    linkage: np.ndarray
    bp: np.ndarray
    resampling: str


@dataclass
class Statistics:
    """The statistics of one analysis; every table tidy (see the ``*_COLUMNS``)."""

    settings: StatisticsSettings
    cells: pd.DataFrame
    means: pd.DataFrame
    baselines: pd.DataFrame
    specificity: pd.DataFrame
    permutation: pd.DataFrame
    reliability: pd.DataFrame
    clusters: pd.DataFrame
    groups: pd.DataFrame
    fold_spread: pd.DataFrame
    trees: dict[tuple[str, str, str], Tree] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def compute_statistics(analysis, settings: StatisticsSettings, random_sets: list[HeatmapSet] | None = None) -> Statistics:
    """All statistics of ``analysis`` (an ``analysis.pipeline.Analysis``); ``random_sets``:
    pooled heatmaps of random-weights models (matched to networks by label and method)."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in ("cells", "means", "reliability", "clusters", "groups")}
    trees: dict[tuple[str, str, str], Tree] = {}
    notes: list[str] = []
    rng = np.random.default_rng(settings.seed)
    pooled_all = [s for s in analysis.sets if s.fold == POOLED]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # means over all-NaN rows of empty classes stay NaN
        baselines = baseline_scores(pooled_all, analysis.families, analysis.threshold, analysis.min_count, settings.centre_sigma, random_sets or [])
        specific, permutation = specificity(pooled_all, analysis.matrices, list(analysis.families), settings.permutations, settings.seed)
        for method in analysis.methods:
            pooled = analysis.pooled(method)
            lacking = [s.network for s in pooled if s.evidence is None]
            if lacking:
                notes.append(f"Confidence intervals, reliability and image-resampled cluster support of {method} for {', '.join(lacking)}: {NO_EVIDENCE}.")
            cases = _cluster_cases(analysis, method, pooled, settings.linkages)
            evidence_sets = [s for s in pooled if s.evidence is not None]
            outcome, statistic = None, None
            if evidence_sets:
                statistic = ReplicateStatistic(
                    cells_of(evidence_sets, analysis.min_count, settings.resample), analysis.classes, analysis.families, analysis.threshold, len(evidence_sets)
                )
                statistic.observers.append(ImageClusterObserver([case for case in cases.values() if case.networks is not None]))
                outcome = run_bootstrap(statistic, settings.resamples, settings.confidence, settings.seed, settings.batch, settings.interval)
                full = _full_values(analysis, method, evidence_sets, statistic, baselines)
                parts["cells"].append(_cell_table(analysis, method, evidence_sets, statistic, outcome, full, settings.resample))
                parts["reliability"].append(_reliability(method, evidence_sets, analysis.min_count, settings, rng))
            parts["means"].append(_mean_table(analysis, method, evidence_sets, outcome, full if outcome is not None else {}, settings))
            clusters, method_trees = _cluster_support(analysis, method, cases, statistic, outcome, settings, rng)
            parts["clusters"].append(clusters)
            trees.update(method_trees)
            parts["groups"].append(_group_tests(analysis, method, settings, rng, notes))
    frames = {name: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame() for name, frames in parts.items()}
    columns = {"cells": CELL_COLUMNS, "means": MEAN_COLUMNS, "reliability": RELIABILITY_COLUMNS, "clusters": CLUSTER_COLUMNS, "groups": GROUP_COLUMNS}
    frames = {name: frame if not frame.empty else pd.DataFrame(columns=columns[name]) for name, frame in frames.items()}
    return Statistics(
        settings,
        frames["cells"],
        frames["means"],
        baselines,
        specific,
        permutation,
        frames["reliability"],
        frames["clusters"],
        frames["groups"],
        fold_spread(analysis.scores),
        trees,
        notes,
    )


def _full_values(analysis, method: str, sets: list[HeatmapSet], statistic: ReplicateStatistic, baselines: pd.DataFrame) -> dict[tuple, float]:
    """The full-resolution estimate of every score row of the statistic (its layout keys)."""
    scores = analysis.scores[(analysis.scores.method == method) & (analysis.scores.fold == POOLED)]
    cell = scores.set_index(["network", "expression", "mask_family", "metric"])["value"].to_dict()
    priors = baselines[(baselines.baseline == FACE_PRIOR) & (baselines.method == method)]
    prior = priors.set_index(["network", "expression", "mask_family", "metric"])["value"].to_dict()
    full: dict[tuple, float] = {}
    for key in statistic.layout.keys:
        kind, network, c, family, metric = key
        if kind in ("cell", "prior", "align"):
            address = (sets[network].network, analysis.classes[c], family, metric)
            value = {"cell": cell.get(address, np.nan), "prior": prior.get(address, np.nan)}
            full[key] = value.get(kind, value["cell"] - value["prior"])
    for key in statistic.layout.keys:
        kind, network, _, family, metric = key
        if kind in ("net", "net_align"):
            source = "cell" if kind == "net" else "align"
            values = [full[source, network, c, family, metric] for c in statistic.classes_of[network] if family in statistic.masks[c]]
            full[key] = float(np.nanmean(values)) if values else np.nan
    for key in statistic.layout.keys:
        kind, _, _, family, metric = key
        if kind in ("grand", "grand_align"):
            source = "net" if kind == "grand" else "net_align"
            full[key] = float(np.nanmean([full[source, n, -1, family, metric] for n in statistic.classes_of]))
    return full


def _cell_table(analysis, method: str, sets: list[HeatmapSet], statistic: ReplicateStatistic, outcome, full: dict[tuple, float], unit: str) -> pd.DataFrame:
    """``CELL_COLUMNS``: every pooled cell's score, face prior and alignment with their intervals."""
    index = {key: row for row, key in enumerate(outcome.keys)}
    kinds = {
        kind: shifted_intervals(outcome, full, [row for key, row in index.items() if key[0] == kind], (-1.0 if kind == "align" else 0.0, 1.0))
        for kind in ("cell", "prior", "align")
    }
    frame = kinds["cell"].drop(columns="kind")
    for kind, prefix in (("prior", "prior"), ("align", "alignment")):
        other = kinds[kind].rename(columns={"value": prefix, "ci_low": f"{prefix}_ci_low", "ci_high": f"{prefix}_ci_high"})
        frame = frame.merge(other.drop(columns=["kind", "offset", "bias"]), on=["network", "cls", "mask_family", "metric"])
    cells = {(cell.network, cell.cls): cell for cell in statistic.cells}
    frame["unit"] = [unit_of(sets[n], unit) for n in frame.network]
    frame["units"] = [cells[n, c].n_units for n, c in zip(frame.network, frame.cls, strict=True)]
    frame["images"] = [len(cells[n, c].units) for n, c in zip(frame.network, frame.cls, strict=True)]
    frame["expression"] = [analysis.classes[c] for c in frame.cls]
    frame["network"] = [sets[n].network for n in frame.network]
    frame["method"] = method
    return frame[CELL_COLUMNS]


def _expression_resampling(table: pd.DataFrame, settings: StatisticsSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(share of resamples each network ranks first, CI low, CI high of its mean) when the
    expressions (columns of a network x expression table) are resampled with replacement."""
    values = table.to_numpy(np.float64)  # [N, E]

    def statistic(chosen: np.ndarray, axis: int = -1) -> np.ndarray:
        chosen = chosen.astype(int)
        means = np.nanmean(values[:, chosen], axis=-1)  # [N, batch]
        first = np.zeros_like(means)
        best = np.argmax(np.nan_to_num(means, nan=-np.inf), axis=0)
        first[best, np.arange(means.shape[1])] = 1.0
        return np.concatenate([means, first])

    n = len(values)
    if values.shape[1] < 2:
        return np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    result = bootstrap(
        (np.arange(values.shape[1]),),
        statistic,
        n_resamples=settings.resamples,
        vectorized=True,
        confidence_level=settings.confidence,
        method="percentile",
        rng=np.random.default_rng(settings.seed),
        batch=settings.batch * 10,
    )
    distribution = result.bootstrap_distribution
    return distribution[n:].mean(axis=1), result.confidence_interval.low[:n], result.confidence_interval.high[:n]


def _mean_table(analysis, method: str, sets: list[HeatmapSet], outcome, full: dict[tuple, float], settings: StatisticsSettings) -> pd.DataFrame:
    """``MEAN_COLUMNS``: each network's mean over expressions and the grand mean, with image-
    resampled intervals (where there is evidence) and the rank stability over images and over expressions."""
    rows = []
    index = {key: row for row, key in enumerate(outcome.keys)} if outcome is not None else {}
    positions = {s.network: i for i, s in enumerate(sets)}
    for family in analysis.families:
        for metric in METRICS:
            table = network_table(analysis.scores, metric, family, method, POOLED)
            if table.empty:
                continue
            body = table.drop(index="mean", columns="mean")
            shares, low_e, high_e = _expression_resampling(body, settings)
            image_first = _first_shares(outcome, index, [positions.get(n) for n in body.index], family, metric) if outcome is not None else {}
            for i, network in enumerate(body.index):
                interval = _mean_interval(outcome, index, full, ("net", positions.get(network), -1, family, metric))
                rows.append(
                    (network, method, family, metric, table.loc[network, "mean"], *interval, image_first.get(i, np.nan), shares[i], low_e[i], high_e[i])
                )
            grand = _mean_interval(outcome, index, full, ("grand", -1, -1, family, metric)) if len(positions) == len(body.index) else (np.nan,) * 5
            rows.append((GRAND_MEAN, method, family, metric, table.loc["mean", "mean"], *grand, np.nan, np.nan, np.nan, np.nan))
    return pd.DataFrame(rows, columns=MEAN_COLUMNS)


def _mean_interval(outcome, index: dict, full: dict[tuple, float], key: tuple) -> tuple[float, ...]:
    """(CI low, high, alignment, its CI low, high) of a network mean (``key`` of kind ``net``)
    or the grand mean (``grand``), shifted to the full-resolution estimates; NaN without evidence."""
    aligned = (key[0] + "_align", *key[1:])
    if outcome is None or key not in index:
        return (np.nan,) * 5
    score, alignment = shifted_intervals(outcome, full, [index[key]], (0.0, 1.0)), shifted_intervals(outcome, full, [index[aligned]], (-1.0, 1.0))
    return (score.ci_low[0], score.ci_high[0], alignment.value[0], alignment.ci_low[0], alignment.ci_high[0])


def _first_shares(outcome, index: dict, networks: list[int | None], family: str, metric: str) -> dict[int, float]:
    """{row: share of image resamples in which the network ranks first} among the networks with evidence."""
    rows = [(i, index[("net", n, -1, family, metric)]) for i, n in enumerate(networks) if n is not None and ("net", n, -1, family, metric) in index]
    if len(rows) < 1:
        return {}
    values = np.nan_to_num(outcome.distribution[[row for _, row in rows]], nan=-np.inf)  # [N, R]
    best = np.argmax(values, axis=0)
    return {i: float(np.mean(best == k)) for k, (i, _) in enumerate(rows)}


def _reliability(method: str, sets: list[HeatmapSet], min_count: int, settings: StatisticsSettings, rng: np.random.Generator) -> pd.DataFrame:
    """``RELIABILITY_COLUMNS`` for every cell of the sets with evidence."""
    rows = []
    for cell in cells_of(sets, min_count, settings.resample):
        heatmap_set = sets[cell.network]
        result = split_half(cell, settings.split_halves, rng)
        unit = unit_of(heatmap_set, settings.resample)
        rows.append((heatmap_set.network, method, heatmap_set.classes[cell.cls], unit, result.units, result.r, result.reliability))
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)


def _cluster_cases(analysis, method: str, pooled: list[HeatmapSet], linkages: tuple[str, ...]) -> dict[str, ClusterCase]:
    """Per expression: the clustered networks (their maps' classes present) and the clusters of
    their full-resolution tree under each linkage; ``networks`` (indices among the sets with
    evidence) is None when some clustered network has no evidence (then pixels are resampled)."""
    with_evidence = [s for s in pooled if s.evidence is not None]
    cases = {}
    for expression, clustering in analysis.clusterings[method].items():
        if len(clustering.labels) < 3:
            continue
        c = analysis.classes.index(expression)
        distances = clustering.distances
        clusters = {name: tree_clusters(linkage_tree(distances, name)) for name in linkages}
        labels = [s.network for s in with_evidence]
        networks = [labels.index(label) for label in clustering.labels] if all(label in labels for label in clustering.labels) else None
        cases[expression] = ClusterCase(c, networks, clusters)
    return cases


def _cluster_support(analysis, method: str, cases: dict[str, ClusterCase], statistic, outcome, settings: StatisticsSettings, rng: np.random.Generator):
    """(``CLUSTER_COLUMNS`` rows, trees) of every expression with at least three networks."""
    rows, trees = [], {}
    extra = {}
    if outcome is not None and statistic is not None and statistic.observers:
        observer = statistic.observers[0]
        first = len(statistic.layout.keys)
        extra = {key: outcome.distribution[first + i] for i, key in enumerate(observer.keys)}
    pooled = {s.network: s for s in analysis.pooled(method)}
    for expression, case in cases.items():
        clustering = analysis.clusterings[method][expression]
        c = case.cls
        if case.networks is not None and extra:
            resampling = f"{unit_of(pooled[clustering.labels[0]], settings.resample)} within each network"
            supports = {name: np.array([extra["cluster", c, name, i].mean() for i in range(len(clusters))]) for name, clusters in case.clusters.items()}
        else:
            maps = np.stack([pooled[label].gray()[c] for label in clustering.labels]).astype(np.float64) / 255
            replicates = block_correlations(maps, settings.resamples, rng)
            resampling = "pixel blocks of 11x8"
            supports = {name: support(replicates, clusters, name).mean(axis=1) for name, clusters in case.clusters.items()}
        for name, clusters in case.clusters.items():
            tree = linkage_tree(clustering.distances, name)
            bp = np.append(supports[name], np.nan)  # the root holds every network
            trees[method, expression, name] = Tree(list(clustering.labels), tree, bp, resampling)
            for i, cluster in enumerate(clusters):
                members = ", ".join(sorted(clustering.labels[j] for j in cluster))
                rows.append((method, expression, name, members, len(cluster), float(tree[i, 2]), float(supports[name][i]), resampling))
    return pd.DataFrame(rows, columns=CLUSTER_COLUMNS), trees


def _group_tests(analysis, method: str, settings: StatisticsSettings, rng: np.random.Generator, notes: list[str]) -> pd.DataFrame:
    """``GROUP_COLUMNS``: pretrained vs from scratch per expression and over all expressions
    (those with every network), when the pretraining of every network is known and both groups have two or more."""
    pooled = {s.network: s for s in analysis.pooled(method)}
    unknown = [name for name, s in pooled.items() if s.pretrained is None]
    if unknown:
        notes.append(
            f"Pretrained vs from-scratch test of {method}: the pretraining of {', '.join(unknown)} is not known (run.pretrained or source.pretrained)."
        )
        return pd.DataFrame(columns=GROUP_COLUMNS)
    rows, stacked, names = [], [], None
    for expression, clustering in analysis.clusterings[method].items():
        labels = list(clustering.labels)
        groups = [bool(pooled[label].pretrained) for label in labels]
        if min(sum(groups), len(groups) - sum(groups)) < 2:
            continue
        maps = np.stack([pooled[label].gray()[analysis.classes.index(expression)] for label in labels]).astype(np.float64) / 255
        distances = 1 - correlation_matrix(maps)
        rows.append((method, expression, len(labels), sum(groups), *_difference(group_test(distances[None], groups, settings.permutations, rng))))
        if names is None or labels == names:
            names = labels
            stacked.append(distances)
    if len(stacked) > 1:
        groups = [bool(pooled[label].pretrained) for label in names]
        rows.append((method, ALL_EXPRESSIONS, len(names), sum(groups), *_difference(group_test(np.stack(stacked), groups, settings.permutations, rng))))
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def _difference(test: tuple[float, float, float, int, bool]) -> tuple:
    within, between, p, permutations, exact = test
    return within, between, between - within, p, permutations, exact


def fold_spread(scores: pd.DataFrame) -> pd.DataFrame:
    """``SPREAD_COLUMNS``: per (network, method, family, metric, expression) with two or more
    scored folds, the mean and the standard deviation over folds with ddof = 1."""
    folds = scores[(scores.fold != POOLED) & scores.value.notna()]
    if folds.empty:
        return pd.DataFrame(columns=SPREAD_COLUMNS)
    grouped = folds.groupby(["network", "method", "mask_family", "metric", "expression"], sort=False)["value"]
    frame = pd.DataFrame({"folds": grouped.size(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)}).reset_index()
    return frame[frame.folds >= 2][SPREAD_COLUMNS].reset_index(drop=True)
