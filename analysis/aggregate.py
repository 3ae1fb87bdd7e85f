"""Scoring many heatmap sets into one tidy table, pooling folds, and the study's tables."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis.heatmap_set import POOLED, HeatmapSet
from analysis.masks import MaskFamily
from analysis.scoring import Threshold, missing_scores, score_heatmap

SCORE_COLUMNS = ["network", "fold", "method", "expression", "mask_family", "metric", "value"]
FOLD_MEAN = "fold-mean"  # aggregation: score each fold's heatmap, average the scores (the study's table)


def pool_folds(sets: list[HeatmapSet], min_count: int = 1) -> list[HeatmapSet]:
    """Add a pooled set per (network, method) that has fold sets but no pooled one: the
    per-class mean of all the folds' images (fold means weighted by their counts; equal
    weights when the source gives no counts). A fold's class with fewer than ``min_count``
    images is missing and left out; a class missing in every fold has count 0 (missing too)."""
    folds: dict[tuple[str, str], list[HeatmapSet]] = defaultdict(list)
    pooled_keys = {(s.network, s.method) for s in sets if s.fold == POOLED}
    for heatmap_set in sets:
        if heatmap_set.fold != POOLED and (heatmap_set.network, heatmap_set.method) not in pooled_keys:
            folds[heatmap_set.network, heatmap_set.method].append(heatmap_set)
    pooled = []
    for (network, method), members in folds.items():
        if all(member.counts is not None for member in members):
            counts = np.array([member.counts for member in members], np.float64)  # [folds, C]
            weights = np.where(counts >= min_count, counts, 0.0)
        else:
            weights = np.ones((len(members), len(members[0].classes)))
        stack = np.stack([member.heatmaps for member in members]).astype(np.float64)  # [folds, C, H, W]
        total = weights.sum(axis=0)
        mean = np.einsum("fc,fchw->chw", weights, stack) / np.maximum(total, 1)[:, None, None]
        first = members[0]
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
            )
        )
    return sets + pooled


def score_sets(sets: list[HeatmapSet], families: dict[str, MaskFamily], threshold: Threshold, min_count: int = 1, progress: bool = True) -> pd.DataFrame:
    """Tidy scores (``SCORE_COLUMNS``) of every class heatmap that has a mask in a family;
    classes without a mask (e.g. Neutral) are not scored, classes with fewer than
    ``min_count`` images score NaN in every metric (missing, not zero)."""
    rows = []
    for heatmap_set in tqdm(sets, desc="scoring", unit="set", disable=not progress):
        classes = zip(heatmap_set.classes, heatmap_set.gray(), heatmap_set.heatmaps, heatmap_set.missing(min_count), strict=True)
        for expression, gray, heatmap, missing in classes:
            for family_name, family in families.items():
                if expression not in family:
                    continue
                scores = missing_scores() if missing else score_heatmap(gray, family[expression], threshold, heatmap)
                for metric, value in scores.items():
                    rows.append((heatmap_set.network, str(heatmap_set.fold), heatmap_set.method, expression, family_name, metric, value))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


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
