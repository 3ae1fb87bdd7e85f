"""Every score with its uncertainty, its chance level and its stability (``compute_statistics``):

- ``design.py``: the resampling units (subjects, else images) shared by every network and
  class, so that one draw per replicate pairs the whole analysis;
- ``replicates.py``: the vectorised statistic (cells, leave-one-class-out face priors,
  alignments, network means, the grand mean, network differences);
- ``intervals.py``: replicate distributions to intervals (expanded percentile by default;
  percentile, basic, BCa) and t-intervals; ``levels.py``: the tables' intervals;
- ``folds.py``: the training level (t over folds) for network means, differences and the
  grand mean whenever several folds exist; ``seeds.py``: the training level of repeated
  seeds on the same faces (seed SD and the paired bootstrap together);
- ``baselines.py``, ``specificity.py``, ``reliability.py``, ``cluster_stability.py``: chance
  levels, the mask-label test, split-half reliability, tree support and the group test;
- ``multiplicity.py``: the false-discovery control over every claim of the report;
- ``results.py``: the named result, ``Statistics``, and its tables' columns.

Sets without per-image evidence (the study's PNGs, artifacts of ferlens < 0.2.0) get every
statistic that needs none (fold-level intervals where they have folds); the others are
reported as ``NO_EVIDENCE``.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ferlens.analysis.clustering import correlation_matrix
from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.analysis.statistics.baselines import FACE_PRIOR, architecture, baseline_scores
from ferlens.analysis.statistics.cluster_stability import (
    ClusterCase,
    ImageClusterObserver,
    block_correlations,
    correlations,
    group_test,
    linkage_tree,
    support,
    tree_clusters,
)
from ferlens.analysis.statistics.design import Cell, ResamplingDesign, build_design
from ferlens.analysis.statistics.folds import fold_means, fold_scores, fold_spread, fold_table
from ferlens.analysis.statistics.intervals import t_interval
from ferlens.analysis.statistics.levels import first_shares, fold_first_shares, full_values, over_expressions, row_intervals
from ferlens.analysis.statistics.multiplicity import adjust_claims, is_claim
from ferlens.analysis.statistics.reliability import specific_split_halves, split_half
from ferlens.analysis.statistics.replicates import ReplicateStatistic, RowKey, run_replicates
from ferlens.analysis.statistics.results import (
    ALL_EXPRESSIONS,
    CELL_COLUMNS,
    CLUSTER_COLUMNS,
    CONDITIONAL,
    DIFFERENCE_COLUMNS,
    FOLD_COLUMNS,
    GRAND_MEAN,
    GROUP_COLUMNS,
    HIERARCHICAL,
    MEAN_COLUMNS,
    RELIABILITY_COLUMNS,
    Statistics,
    Tree,
)
from ferlens.analysis.statistics.seeds import SEED_COLUMNS, seed_groups, seed_table
from ferlens.analysis.statistics.settings import StatisticsSettings
from ferlens.analysis.statistics.specificity import specificity
from ferlens.evaluation.localisation.scores import METRICS
from ferlens.formats.evidence import NO_EVIDENCE

log = logging.getLogger(__name__)

__all__ = ["ALL_EXPRESSIONS", "GRAND_MEAN", "Statistics", "StatisticsSettings", "Tree", "compute_statistics", "fold_spread"]
#: the comparison of an AU-guided network with the same network trained without guidance
GUIDED = "guided - unguided"
PAIR = "pair"
#: the level of a difference with neither faces nor folds to resample
OVER_EXPRESSIONS = "the expressions (paired t over {count})"


def compute_statistics(analysis, settings: StatisticsSettings, random_sets: list[HeatmapSet] | None = None) -> Statistics:
    """All statistics of ``analysis`` (an ``analysis.pipeline.Analysis``); ``random_sets``:
    pooled heatmaps of random-weights models (matched to networks by architecture and method)."""
    names = ("cells", "means", "differences", "reliability", "clusters", "groups", "fold_means", "seeds")
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in names}
    trees: dict[tuple[str, str, str], Tree] = {}
    notes: list[str] = []
    rng = np.random.default_rng(settings.seed)
    pooled_all = [s for s in analysis.sets if s.fold == POOLED]
    # one BLAS thread: the statistic's matrix products are small, and threads waiting for
    # busy cores made them 30x slower on a loaded 2-core machine (measured)
    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
        warnings.simplefilter("ignore", RuntimeWarning)  # means over all-NaN rows of empty classes stay NaN
        baselines = baseline_scores(pooled_all, analysis.families, analysis.threshold, analysis.min_count, settings.centre_sigma, random_sets or [])
        specific, permutation = specificity(pooled_all, analysis.matrices, list(analysis.families), settings.permutations, settings.seed)
        for method in analysis.methods:
            _method_statistics(analysis, method, settings, baselines, rng, parts, trees, notes)
    frames = {name: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame() for name, frames in parts.items()}
    columns = {
        "cells": CELL_COLUMNS, "means": MEAN_COLUMNS, "differences": DIFFERENCE_COLUMNS, "reliability": RELIABILITY_COLUMNS,
        "clusters": CLUSTER_COLUMNS, "groups": GROUP_COLUMNS, "fold_means": FOLD_COLUMNS, "seeds": SEED_COLUMNS,
    }  # fmt: skip
    frames = {name: frame if not frame.empty else pd.DataFrame(columns=columns[name]) for name, frame in frames.items()}
    claims = adjust_claims(
        {
            "permutation": (permutation, "p_value", is_claim(permutation, settings)),
            "differences": (frames["differences"], "p_value", is_claim(frames["differences"], settings)),
            "groups": (frames["groups"], "p_value", np.ones(len(frames["groups"]), bool)),
            "seeds": (frames["seeds"], "p_value", is_claim(frames["seeds"], settings) & (frames["seeds"].other != "").to_numpy(bool)),
        },
        settings,
    )
    return Statistics(
        settings=settings,
        cells=frames["cells"],
        means=frames["means"],
        differences=frames["differences"],
        baselines=baselines,
        specificity=specific,
        permutation=permutation,
        reliability=frames["reliability"],
        clusters=frames["clusters"],
        groups=frames["groups"],
        fold_means=frames["fold_means"],
        seeds=frames["seeds"],
        fold_spread=fold_spread(analysis.scores, settings.confidence),
        claims=claims,
        trees=trees,
        notes=notes,
    )


def _method_statistics(analysis, method: str, settings: StatisticsSettings, baselines: pd.DataFrame, rng, parts: dict, trees: dict, notes: list[str]) -> None:
    """Append ``method``'s tables to ``parts`` and its trees to ``trees``."""
    pooled = analysis.pooled(method)
    lacking = [s.network for s in pooled if s.evidence is None]
    if lacking:
        notes.append(f"Intervals per cell, reliability and image-resampled cluster support of {method} for {', '.join(lacking)}: {NO_EVIDENCE}.")
    with_evidence = [s for s in pooled if s.evidence is not None]
    per_fold = fold_scores(analysis, method)
    parts["fold_means"].append(fold_means(per_fold, method, list(analysis.families), METRICS, settings.confidence))
    context = _Replicates.of(analysis, method, with_evidence, baselines, settings) if with_evidence else None
    cases = _cluster_cases(analysis, method, pooled, context, settings.linkages)
    if context is not None:
        context.run(cases, settings)
        parts["cells"].append(context.cell_table(analysis, method))
        dominated = int(context.rows.bias_dominated.sum())
        if dominated:
            notes.append(
                f"{dominated} of {len(context.rows)} intervals of {method} are not given (n/a): the estimate lies outside the central "
                f"{settings.confidence:.0%} of its own bootstrap replicates, so the score's resampling bias exceeds its spread "
                "(typical of thresholded scores of noisy maps resting on few subjects); more subjects or images would give them."
            )
        parts["reliability"].append(_reliability(method, context, settings, rng))
    means = _mean_table(analysis, method, context, per_fold, settings)
    parts["means"].append(means)
    if context is not None:
        folds = {s.network: len({str(f) for f in s.evidence_folds}) if s.evidence_folds is not None else 1 for s in context.sets}
        groups = seed_groups(context.sets, folds)
        if groups:
            parts["seeds"].append(seed_table(groups, context.sets, means, context.network_replicates, method, settings.confidence, context.design.unit))
    parts["differences"].append(_difference_table(analysis, method, context, per_fold, settings))
    clusters, method_trees = _cluster_support(analysis, method, cases, context, settings, rng)
    parts["clusters"].append(clusters)
    trees.update(method_trees)
    parts["groups"].append(_group_tests(analysis, method, settings, rng, notes))


class _Replicates:
    """The paired bootstrap of one method's sets with evidence: design, statistic, outcome and the rows' intervals."""

    def __init__(self, sets: list[HeatmapSet], design: ResamplingDesign, statistic: ReplicateStatistic, full: np.ndarray) -> None:
        self.sets, self.design, self.statistic, self.full = sets, design, statistic, full
        self.outcome = None
        self.rows: pd.DataFrame | None = None

    @classmethod
    def of(cls, analysis, method: str, sets: list[HeatmapSet], baselines: pd.DataFrame, settings: StatisticsSettings) -> _Replicates:
        design = build_design(sets, analysis.min_count, settings.resample)
        statistic = ReplicateStatistic(design, analysis.classes, analysis.families, analysis.threshold)
        position = {s.network: n for n, s in enumerate(sets)}
        classes = {name: c for c, name in enumerate(analysis.classes)}
        scores = analysis.scores[(analysis.scores.method == method) & (analysis.scores.fold == POOLED) & analysis.scores.network.isin(position)]
        cell_scores = {(position[r.network], classes[r.expression], r.mask_family, r.metric): r.value for r in scores.itertuples()}
        priors = baselines[(baselines.baseline == FACE_PRIOR) & (baselines.method == method) & baselines.network.isin(position)]
        prior_scores = {(position[r.network], classes[r.expression], r.mask_family, r.metric): r.value for r in priors.itertuples()}
        return cls(sets, design, statistic, full_values(statistic, cell_scores, prior_scores))

    def maps(self) -> dict[tuple[int, int], np.ndarray]:
        """{(network, class): float32 [P]} every cell's mean map of all its images (evidence grid)."""
        return {key: value[0] for key, value in self.statistic.mean_maps(np.ones((1, self.design.n_units), np.int32)).items()}

    def run(self, cases: dict[str, ClusterCase], settings: StatisticsSettings) -> None:
        self.statistic.observers.append(ImageClusterObserver([case for case in cases.values() if case.networks is not None]))
        self.outcome = run_replicates(self.statistic, settings.resamples, settings.seed, settings.batch, jackknife=settings.interval == "bca")
        self.rows = row_intervals(self.statistic, self.outcome, self.full, settings.confidence, settings.interval)
        self.index = {key: i for i, key in enumerate(self.statistic.keys)}
        self.level = CONDITIONAL.format(unit=self.design.unit)

    def network_replicates(self, n: int, family: str, metric: str) -> np.ndarray | None:
        """float [R]: network ``n``'s mean's replicates (evidence grid), None without that row."""
        row = self.index.get(RowKey("net", n, None, family, metric))
        return None if row is None else self.outcome.distribution[row]

    def row(self, key: RowKey) -> pd.Series | None:
        return self.rows.iloc[self.index[key]] if key in self.index else None

    def cell_table(self, analysis, method: str) -> pd.DataFrame:
        """``CELL_COLUMNS``: every cell's score, face prior and alignment with their intervals."""
        records = []
        for cell in self.design.cells:
            for family in self.statistic.masks[cell.cls]:
                for metric in METRICS:
                    value, prior, aligned = (self.row(RowKey(kind, cell.network, cell.cls, family, metric)) for kind in ("cell", "prior", "align"))
                    records.append((
                        self.sets[cell.network].network, method, family, metric, analysis.classes[cell.cls], value.value, value.ci_low, value.ci_high,
                        prior.value, prior.ci_low, prior.ci_high, aligned.value, aligned.ci_low, aligned.ci_high, value.offset, value.bias,
                        self.design.unit, cell.n_units, len(cell.units), self.level,
                    ))  # fmt: skip
        return pd.DataFrame(records, columns=CELL_COLUMNS)


def _mean_table(analysis, method: str, context: _Replicates | None, per_fold: pd.DataFrame, settings: StatisticsSettings) -> pd.DataFrame:
    """``MEAN_COLUMNS``: each network's mean over expressions and the grand mean, with their
    intervals (fold-level t where the network has several folds, else the paired bootstrap),
    the share of resamples in which each ranks first, and the t-interval over expressions."""
    rows = []
    position = {s.network: n for n, s in enumerate(context.sets)} if context is not None else {}
    networks = [s.network for s in analysis.pooled(method)]
    pooled_scores = analysis.scores[(analysis.scores.method == method) & (analysis.scores.fold == POOLED)]
    for family in analysis.families:
        for metric in METRICS:
            cells = pooled_scores[(pooled_scores.mask_family == family) & (pooled_scores.metric == metric)]
            if cells.empty:
                continue
            by_network = {network: group.value.to_numpy(np.float64) for network, group in cells.groupby("network", sort=False)}
            folds, folds_aligned = fold_table(per_fold, family, metric)
            hierarchical = not folds.empty and (folds.notna().sum(axis=1) >= 2).any()
            shares = fold_first_shares(folds, settings.resamples, settings.seed) if hierarchical else {}
            if not shares and context is not None and len(position) == len(networks):
                replicate_shares = first_shares(context.statistic, context.outcome, family, metric)
                shares = {context.sets[n].network: share for n, share in replicate_shares.items()}
            for network in networks:
                values = by_network.get(network, np.array([]))
                value = float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
                low_e, high_e, count = over_expressions(values, settings.confidence)
                interval = _network_interval(context, position.get(network), family, metric, folds, folds_aligned, network, value, settings)
                rows.append((network, method, family, metric, value, *interval, shares.get(network, np.nan), low_e, high_e, count))
            grand_value = float(np.nanmean([row[4] for row in rows[-len(networks) :]]))
            grand = _grand_interval(context, position, networks, family, metric, folds, folds_aligned, grand_value, settings)
            rows.append((GRAND_MEAN, method, family, metric, grand_value, *grand, np.nan, np.nan, np.nan, 0))
    return pd.DataFrame(rows, columns=MEAN_COLUMNS)


def _mean_interval(context, keys: tuple[RowKey, RowKey] | None, folds: np.ndarray | None, folds_aligned: np.ndarray | None, value: float, settings) -> tuple:
    """(CI low, high, alignment, its CI low, high, level) of a network mean or the grand mean:
    the paired bootstrap's rows ``keys`` (score, alignment) when given, replaced by the
    t-interval over the fold values ``folds`` [K] (``folds_aligned`` [K] or None) around the
    pooled estimate when two or more folds exist."""
    alignment, low_a, high_a, low, high, level = np.nan, np.nan, np.nan, np.nan, np.nan, "none"
    if keys is not None:
        row, aligned = context.row(keys[0]), context.row(keys[1])
        low, high, alignment, low_a, high_a, level = row.ci_low, row.ci_high, aligned.value, aligned.ci_low, aligned.ci_high, context.level
    if folds is not None and np.isfinite(folds).sum() >= 2:
        interval = t_interval(folds[None], settings.confidence, centre=np.array([value]))
        low, high = float(interval.low[0]), float(interval.high[0])
        if np.isfinite(alignment) and folds_aligned is not None:
            interval = t_interval(folds_aligned[None], settings.confidence, centre=np.array([alignment]))
            low_a, high_a = float(interval.low[0]), float(interval.high[0])
        level = HIERARCHICAL.format(unit=context.design.unit if context is not None else "faces", folds=int(np.isfinite(folds).sum()))
    return low, high, alignment, low_a, high_a, level


def _network_interval(context, n, family, metric, folds, folds_aligned, network, value, settings) -> tuple:
    """``_mean_interval`` of one network's mean."""
    keys = (RowKey("net", n, None, family, metric), RowKey("net_align", n, None, family, metric)) if context is not None and n is not None else None
    known = not folds.empty and network in folds.index
    values = folds.loc[network].to_numpy(np.float64) if known else None
    aligned = folds_aligned.loc[network].to_numpy(np.float64) if known else None
    return _mean_interval(context, keys, values, aligned, value, settings)


def _grand_interval(context, position, networks, family, metric, folds, folds_aligned, value, settings) -> tuple:
    """``_mean_interval`` of the grand mean (NaN unless every network has evidence or the folds every network has)."""
    keys = (RowKey("grand", None, None, family, metric), RowKey("grand_align", None, None, family, metric))
    keys = keys if context is not None and len(position) == len(networks) else None
    common = folds.reindex(networks).dropna(axis=1) if not folds.empty else folds
    if folds.empty or common.shape[1] < 2:
        return _mean_interval(context, keys, None, None, value, settings)
    aligned_common = folds_aligned.reindex(networks)[common.columns]
    aligned = aligned_common.mean(axis=0).to_numpy(np.float64) if aligned_common.notna().all().all() else None
    return _mean_interval(context, keys, common.mean(axis=0).to_numpy(np.float64), aligned, value, settings)


def _comparison(first: HeatmapSet, second: HeatmapSet) -> tuple[str, bool]:
    """(``GUIDED`` or ``PAIR``, whether to swap the two so that the guided network comes first)."""
    guidance = [s.run.au_guidance if s.run is not None else None for s in (first, second)]
    if architecture(first) == architecture(second) and [bool(g) for g in guidance].count(True) == 1:
        return GUIDED, not bool(guidance[0])
    return PAIR, False


def _difference_table(analysis, method: str, context: _Replicates | None, per_fold: pd.DataFrame, settings: StatisticsSettings) -> pd.DataFrame:
    """``DIFFERENCE_COLUMNS``: for every pair of networks, the mean over the classes both have
    of (first - second), score and alignment, with the paired interval and p (fold-level
    paired t where both have the same two or more folds, else the paired bootstrap, else,
    without evidence, the paired t over the shared expressions)."""
    pooled = analysis.pooled(method)
    position = {s.network: n for n, s in enumerate(context.sets)} if context is not None else {}
    chosen = analysis.scores[(analysis.scores.method == method) & (analysis.scores.fold == POOLED)]
    tables = {key: group.set_index(["network", "expression"])["value"].to_dict() for key, group in chosen.groupby(["mask_family", "metric"])}
    several = not per_fold.empty and per_fold.groupby("network").fold.nunique().max() >= 2
    fold_groups = {key: _fold_cells(group) for key, group in per_fold.groupby(["mask_family", "metric"])} if several else {}
    rows = []
    for i, first in enumerate(pooled):
        for second in pooled[i + 1 :]:
            comparison, swap = _comparison(first, second)
            a, b = (second, first) if swap else (first, second)
            for family in analysis.families:
                for metric in METRICS:
                    scores, folds = tables.get((family, metric), {}), fold_groups.get((family, metric), {})
                    rows.append(_difference_row(analysis, method, context, position, scores, folds, a, b, comparison, family, metric, settings))
    return pd.DataFrame([row for row in rows if row is not None], columns=DIFFERENCE_COLUMNS)


def _fold_cells(scores: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """{network: (fold x expression scores, fold x expression alignments)} of one family and metric's ``fold_scores``."""
    scores = scores.assign(alignment=scores.value - scores.prior)
    return {
        network: (group.pivot_table("value", "fold", "expression", dropna=False), group.pivot_table("alignment", "fold", "expression", dropna=False))
        for network, group in scores.groupby("network", sort=False)
    }


def _difference_row(analysis, method, context, position, scores: dict, per_fold: dict, a, b, comparison, family, metric, settings) -> tuple | None:
    """One ``DIFFERENCE_COLUMNS`` row (None when the two share no scored class); ``scores``:
    {(network, expression): pooled score} of this family and metric, ``per_fold`` its
    ``_fold_cells`` (empty unless some network has several folds)."""
    shared = [e for e in analysis.classes if np.isfinite(scores.get((a.network, e), np.nan)) and np.isfinite(scores.get((b.network, e), np.nan))]
    if not shared:
        return None
    difference = float(np.mean([scores[a.network, e] - scores[b.network, e] for e in shared]))
    low = high = p = alignment = low_a = high_a = p_a = np.nan
    level = "none"
    if context is not None and a.network in position and b.network in position:
        n, m = position[a.network], position[b.network]
        sign = 1.0
        if (n, m) not in [(x, y) for x, y in context.statistic.pairs]:
            n, m, sign = m, n, -1.0
        row, aligned = context.row(RowKey("diff", n, None, family, metric, m)), context.row(RowKey("diff_align", n, None, family, metric, m))
        if row is not None:
            low, high = sorted((sign * row.ci_low, sign * row.ci_high))
            p, alignment, p_a = row.p_value, sign * aligned.value, aligned.p_value
            low_a, high_a = sorted((sign * aligned.ci_low, sign * aligned.ci_high))
            level = context.level
    if a.network in per_fold and b.network in per_fold:
        (value_a, aligned_a), (value_b, aligned_b) = per_fold[a.network], per_fold[b.network]
        folds = value_a.index.intersection(value_b.index)
        paired = (value_a.loc[folds, shared].mean(axis=1) - value_b.loc[folds, shared].mean(axis=1)).dropna().to_numpy(np.float64)
        if len(paired) >= 2:
            interval = t_interval(paired[None], settings.confidence, centre=np.array([difference]))
            low, high, p = float(interval.low[0]), float(interval.high[0]), float(interval.p_value[0])
            aligned_paired = (aligned_a.loc[folds, shared].mean(axis=1) - aligned_b.loc[folds, shared].mean(axis=1)).dropna().to_numpy(np.float64)
            if np.isfinite(alignment) and len(aligned_paired) >= 2:
                interval = t_interval(aligned_paired[None], settings.confidence, centre=np.array([alignment]))
                low_a, high_a, p_a = float(interval.low[0]), float(interval.high[0]), float(interval.p_value[0])
            level = HIERARCHICAL.format(unit=context.design.unit if context is not None else "faces", folds=len(paired))
    if level == "none" and len(shared) >= 2:  # no faces to resample, no folds: the expressions are the only sample
        paired = np.array([scores[a.network, e] - scores[b.network, e] for e in shared])
        interval = t_interval(paired[None], settings.confidence)
        low, high, p = float(interval.low[0]), float(interval.high[0]), float(interval.p_value[0])
        level = OVER_EXPRESSIONS.format(count=len(shared))
    return (a.network, b.network, comparison, method, family, metric, len(shared), difference, low, high, p, alignment, low_a, high_a, p_a, level, np.nan)


def _network_numbering(cells: list[Cell]) -> list[Cell]:
    """One network's cells with their units numbered 0..U-1 alike across the network's
    classes (one subject, one number), U its units (what the specific split-half needs)."""
    units = np.unique(np.concatenate([cell.units for cell in cells]))
    return [Cell(cell.network, cell.cls, cell.values, np.searchsorted(units, cell.units).astype(np.int64), len(units)) for cell in cells]


def _local(cell: Cell) -> Cell:
    """The cell with its units numbered 0..n_units-1 (what the split-half needs)."""
    units = np.unique(cell.units, return_inverse=True)[1].astype(np.int64)
    return Cell(cell.network, cell.cls, cell.values, units, cell.n_units)


def _reliability(method: str, context: _Replicates, settings: StatisticsSettings, rng: np.random.Generator) -> pd.DataFrame:
    """``RELIABILITY_COLUMNS`` for every cell of the sets with evidence."""
    rows = []
    by_network: dict[int, list[Cell]] = {}
    for cell in context.design.cells:
        by_network.setdefault(cell.network, []).append(cell)
    for cells in by_network.values():
        specifics = specific_split_halves(_network_numbering(cells), settings.split_halves, rng)
        for cell, specific in zip(cells, specifics, strict=True):
            heatmap_set = context.sets[cell.network]
            whole = split_half(_local(cell), settings.split_halves, rng)
            rows.append((heatmap_set.network, method, heatmap_set.classes[cell.cls], context.design.unit, cell.n_units, whole.r, whole.reliability,
                         specific.r, specific.reliability))  # fmt: skip
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)


def _cluster_cases(analysis, method: str, pooled: list[HeatmapSet], context: _Replicates | None, linkages: tuple[str, ...]) -> dict[str, ClusterCase]:
    """Per expression: the clustered networks (their maps' classes present) and the clusters of
    their reference tree under each linkage. With evidence for every clustered network, the
    reference tree is built on the evidence grid, like its bootstrap trees (``networks``:
    indices into the evidence sets); else on the full-resolution maps (``networks`` None:
    pixel blocks are resampled, at full resolution too)."""
    labels = [s.network for s in context.sets] if context is not None else []
    maps = context.maps() if context is not None else {}
    cases = {}
    for expression, clustering in analysis.clusterings[method].items():
        if len(clustering.labels) < 3:
            continue
        c = analysis.classes.index(expression)
        networks = [labels.index(label) for label in clustering.labels] if all(label in labels for label in clustering.labels) else None
        if networks is not None:
            distances = 1 - correlations(np.stack([maps[n, c] for n in networks]).astype(np.float64))
        else:
            distances = clustering.distances
        clusters = {name: tree_clusters(linkage_tree(distances, name)) for name in linkages}
        cases[expression] = ClusterCase(c, networks, clusters, distances)
    return cases


def _cluster_support(analysis, method: str, cases: dict[str, ClusterCase], context: _Replicates | None, settings: StatisticsSettings, rng):
    """(``CLUSTER_COLUMNS`` rows, trees) of every expression with at least three networks."""
    rows, trees = [], {}
    extra = {}
    if context is not None and context.statistic.observers:
        observer = context.statistic.observers[0]
        first = len(context.statistic.keys)
        extra = {key: context.outcome.distribution[first + i] for i, key in enumerate(observer.keys)}
    pooled = {s.network: s for s in analysis.pooled(method)}
    for expression, case in cases.items():
        clustering = analysis.clusterings[method][expression]
        c = case.cls
        if case.networks is not None and extra:
            resampling, grid = f"{context.design.unit}, one draw for every network", "evidence grid (55x56)"
            supports = {name: np.array([extra["cluster", c, name, i].mean() for i in range(len(clusters))]) for name, clusters in case.clusters.items()}
        else:
            maps = np.stack([pooled[label].gray()[c] for label in clustering.labels]).astype(np.float64) / 255
            replicates = block_correlations(maps, settings.resamples, rng)
            resampling, grid = "pixel blocks of 11x8", "full resolution (275x224)"
            supports = {name: support(replicates, clusters, name).mean(axis=1) for name, clusters in case.clusters.items()}
        for name, clusters in case.clusters.items():
            tree = linkage_tree(case.distances, name)
            bp = np.append(supports[name], np.nan)  # the root holds every network
            trees[method, expression, name] = Tree(list(clustering.labels), tree, bp, resampling, grid)
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


def _difference(test) -> tuple:
    within, between, p, permutations, exact = test
    return within, between, between - within, p, permutations, exact, np.nan
