"""Scoring many heatmap sets into one tidy table, pooling folds, and the study's tables."""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np
import pandas as pd
from tqdm import tqdm

from ferlens.analysis.heatmap_set import POOLED, POOLING_BY_COUNTS, POOLING_EQUAL, HeatmapSet
from ferlens.evaluation.localisation.masks import MaskFamily
from ferlens.evaluation.localisation.scores import MaskRegions, Threshold, missing_scores, score_maps
from ferlens.formats.evidence import ImageEvidence

log = logging.getLogger(__name__)

SCORE_COLUMNS = ["network", "fold", "method", "expression", "mask_family", "metric", "value"]
FOLD_MEAN = "fold-mean"  # aggregation: score each fold's heatmap, average the scores (the study's table)


def pool_folds(sets: list[HeatmapSet], min_count: int = 1) -> list[HeatmapSet]:
    """Add a pooled set per (network, method) that has fold sets but no pooled one: the
    per-class mean of all the folds' images (fold means weighted by their counts, the folds'
    evidence together), or, when the source gives no counts, an equal-weight mean of the
    folds' maps, labelled ``POOLING_EQUAL`` and warned about once. A fold's class with fewer
    than ``min_count`` images is missing and left out; a class missing in every fold has
    count 0 (missing too)."""
    folds: dict[tuple[str, str], list[HeatmapSet]] = defaultdict(list)
    pooled_keys = {(s.network, s.method) for s in sets if s.fold == POOLED}
    for heatmap_set in sets:
        if heatmap_set.fold != POOLED and (heatmap_set.network, heatmap_set.method) not in pooled_keys:
            folds[heatmap_set.network, heatmap_set.method].append(heatmap_set)
    pooled = []
    equal_weights = []
    for (network, method), members in folds.items():
        by_counts = all(member.counts is not None for member in members)
        if by_counts:
            counts = np.array([member.counts for member in members], np.float64)  # [folds, C]
            weights = np.where(counts >= min_count, counts, 0.0)
        else:
            weights = np.ones((len(members), len(members[0].classes)))
            equal_weights.append(network)
        stack = np.stack([member.heatmaps for member in members]).astype(np.float64)  # [folds, C, H, W]
        total = weights.sum(axis=0)
        mean = np.einsum("fc,fchw->chw", weights, stack) / np.maximum(total, 1)[:, None, None]
        first = members[0]
        evidence = _pooled_evidence(members, min_count) if by_counts else None
        pooled.append(
            HeatmapSet(
                network=network,
                method=method,
                fold=POOLED,
                classes=first.classes,
                heatmaps=mean.astype(np.float32),
                counts=None if first.counts is None else [int(c) for c in total],
                pretrained=first.pretrained,
                template=first.template,
                origin=f"pooled over {len(members)} folds",
                evidence=None if evidence is None else evidence[0],
                pooling=POOLING_BY_COUNTS if by_counts else POOLING_EQUAL,
                evidence_folds=None if evidence is None else evidence[1],
                folds_run=first.run,
            )
        )
    if equal_weights:
        log.warning("The folds of %s give no image counts: their pooled heatmaps are the %s.", ", ".join(equal_weights), POOLING_EQUAL)
    return sets + pooled


def _pooled_evidence(members: list[HeatmapSet], min_count: int) -> tuple[ImageEvidence, np.ndarray] | None:
    """(the folds' images together, str [n] the fold of each), leaving out those of a fold's
    missing class (as the pooled mean does); None when a fold has no evidence."""
    if any(member.evidence is None for member in members):
        return None
    parts, folds = [], []
    for member in members:
        present = np.flatnonzero(~np.array(member.missing(min_count)))
        parts.append(member.evidence.subset(np.isin(member.evidence.target, present)))
        folds.append(np.full(len(parts[-1]), str(member.fold)))
    return ImageEvidence.concatenate(parts), np.concatenate(folds)


#: per (network, method, fold, mask family): the expressions scored (the set's non-empty
#: classes with a mask) and, per metric, the [E, E] scores of heatmap i against the mask of
#: expression j; their diagonal is the tables' scores, the rest the specificity's
ScoreMatrices = dict[tuple[str, str, str, str], tuple[list[str], dict[str, np.ndarray]]]


def score_sets(
    sets: list[HeatmapSet], families: dict[str, MaskFamily], threshold: Threshold, min_count: int = 1, progress: bool = True
) -> tuple[pd.DataFrame, ScoreMatrices]:
    """(tidy scores (``SCORE_COLUMNS``), ``ScoreMatrices``) of every class heatmap that has a
    mask in a family; classes without a mask (e.g. Neutral) are not scored, classes with
    fewer than ``min_count`` images score NaN in every metric (missing, not zero). One
    batched call per set and family scores its heatmaps against all the family's masks."""
    rows, matrices = [], {}
    regions: dict[tuple[str, tuple[str, ...]], MaskRegions] = {}  # masks cut into regions once per family and class list
    for heatmap_set in tqdm(sets, desc="scoring", unit="set", disable=not progress):
        grays, missing = heatmap_set.gray(), heatmap_set.missing(min_count)
        for family_name, family in families.items():
            present = [c for c, name in enumerate(heatmap_set.classes) if name in family and not missing[c]]
            expressions = [heatmap_set.classes[c] for c in present]
            if present and (family_name, tuple(expressions)) not in regions:
                regions[family_name, tuple(expressions)] = MaskRegions.of(np.stack([family[e] for e in expressions]))
            values = score_maps(grays[present], heatmap_set.heatmaps[present], regions[family_name, tuple(expressions)], threshold) if present else {}
            matrices[(*heatmap_set.key, family_name)] = (expressions, values)
            for expression in heatmap_set.classes:
                if expression not in family:
                    continue
                i = expressions.index(expression) if expression in expressions else None
                scores = missing_scores() if i is None else {metric: float(matrix[i, i]) for metric, matrix in values.items()}
                cell = (heatmap_set.network, str(heatmap_set.fold), heatmap_set.method, expression, family_name)
                rows += [(*cell, metric, value) for metric, value in scores.items()]
    return pd.DataFrame(rows, columns=SCORE_COLUMNS), matrices


def network_table(scores: pd.DataFrame, metric: str, mask_family: str, method: str, aggregation: str) -> pd.DataFrame:
    """Network x expression table of ``metric`` with a ``mean`` column and row; NaN (missing)
    scores are left out of every mean, and a cell with none left is NaN.

    aggregation: ``FOLD_MEAN`` (mean over the per-fold scores: the study's table; networks
    with fold heatmaps only) or ``POOLED`` (scores of the pooled heatmaps)."""
    chosen = scores[(scores.metric == metric) & (scores.mask_family == mask_family) & (scores.method == method)]
    chosen = chosen[chosen.fold == POOLED] if aggregation == POOLED else chosen[chosen.fold != POOLED]
    if chosen.empty:
        return pd.DataFrame()
    networks, expressions = list(dict.fromkeys(chosen.network)), list(dict.fromkeys(chosen.expression))
    table = chosen.groupby(["network", "expression"])["value"].mean().unstack("expression").reindex(index=networks, columns=expressions)
    table.columns.name = None
    table["mean"] = table.mean(axis=1)
    table.loc["mean"] = table.mean(axis=0)
    return table


def count_table(sets: list[HeatmapSet], method: str, aggregation: str, min_count: int = 1) -> pd.DataFrame:
    """Network x class table of what each cell of ``method``'s tables rests on:
    ``FOLD_MEAN``: the folds whose class is not missing; ``POOLED``: the images behind the
    pooled heatmap (NaN when the source gives no counts)."""
    chosen = [s for s in sets if s.method == method and (s.fold == POOLED) == (aggregation == POOLED)]
    if not chosen:
        return pd.DataFrame()
    classes = chosen[0].classes
    if aggregation == POOLED:
        values = {s.network: [float("nan")] * len(classes) if s.counts is None else s.counts for s in chosen}
    else:
        values = defaultdict(lambda: np.zeros(len(classes), int))
        for heatmap_set in chosen:
            values[heatmap_set.network] = values[heatmap_set.network] + ~np.array(heatmap_set.missing(min_count))
    return pd.DataFrame.from_dict(dict(values), orient="index", columns=classes)
