"""The report directory: tidy scores, the study's tables, clustering and figures.

reports/<name>/
  scores.csv                    network, fold, method, expression, mask_family, metric, value
  tables/<method>__<family>__<metric>__<aggregation>.csv   network x expression (+ means)
  clustering.csv                method, expression, cophenetic, groups (top two clusters)
  distances/<method>__<Expr>.csv   1 - r between the networks' pooled heatmaps
  figures/heatmaps__<method>.png, masks.png, bars__<method>__<family>.png,
          dendrograms__<method>.png, distances__<method>.png
  summary.md                    the tables as in the study, clustering, skipped inputs
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.aggregate import FOLD_MEAN, network_table
from analysis.figures import dendrograms, distance_matrices, heatmap_grid, mask_grid, score_bars
from analysis.heatmap_set import POOLED
from analysis.pipeline import Analysis
from analysis.scoring import BINARY_METRICS, SOFT_METRICS

SUMMARY_METRICS = {"iou": "IoU", "f1": "F1"}  # metric -> heading in summary.md


def aggregations(analysis: Analysis, method: str) -> list[str]:
    """``FOLD_MEAN`` when the method has per-fold heatmaps (listed first: the study's table), and ``POOLED``."""
    has_folds = any(s.method == method and s.fold != POOLED for s in analysis.sets)
    return [FOLD_MEAN, POOLED] if has_folds else [POOLED]


def _markdown(table: pd.DataFrame) -> str:
    header = "| network | " + " | ".join(table.columns) + " |"
    rule = "|---|" + "---:|" * len(table.columns)
    rows = [f"| {'**mean**' if index == 'mean' else index} | " + " | ".join(f"{value:.4f}" for value in row) + " |" for index, row in table.iterrows()]
    return "\n".join([header, rule, *rows])


def write_tables(analysis: Analysis, directory: Path) -> dict[tuple[str, str, str, str], pd.DataFrame]:
    """Every (method, family, metric, aggregation) table as CSV; returns them by that key."""
    tables = {}
    (directory / "tables").mkdir(parents=True, exist_ok=True)
    for method in analysis.methods:
        for family in analysis.families:
            for metric in BINARY_METRICS + SOFT_METRICS:
                for aggregation in aggregations(analysis, method):
                    table = network_table(analysis.scores, metric, family, method, aggregation)
                    if not table.empty:
                        table.to_csv(directory / "tables" / f"{method}__{family}__{metric}__{aggregation}.csv", float_format="%.6f")
                        tables[method, family, metric, aggregation] = table
    return tables


def write_clustering(analysis: Analysis, directory: Path) -> pd.DataFrame:
    """Distance matrices and the per-expression cophenetic correlation and top-two groups."""
    (directory / "distances").mkdir(parents=True, exist_ok=True)
    rows = []
    for method, by_expression in analysis.clusterings.items():
        for expression, clustering in by_expression.items():
            pd.DataFrame(clustering.distances, index=clustering.labels, columns=clustering.labels).to_csv(
                directory / "distances" / f"{method}__{expression}.csv", float_format="%.6f"
            )
            groups = " vs ".join("{" + ", ".join(group) + "}" for group in clustering.groups(2))
            rows.append((method, expression, clustering.cophenetic, groups))
    frame = pd.DataFrame(rows, columns=["method", "expression", "cophenetic", "groups"])
    frame.to_csv(directory / "clustering.csv", index=False, float_format="%.6f")
    return frame


def write_figures(analysis: Analysis, directory: Path) -> None:
    figures = directory / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    mask_grid(analysis.families).savefig(figures / "masks.png", dpi=110)
    for method in analysis.methods:
        pooled = analysis.pooled(method)
        heatmap_grid({s.network: s.gray() for s in pooled}, analysis.classes).savefig(figures / f"heatmaps__{method}.png", dpi=110)
        scores = analysis.scores[analysis.scores.method == method]
        primary = aggregations(analysis, method)[0]
        scores = scores[scores.fold == POOLED] if primary == POOLED else scores[scores.fold != POOLED]
        for family in analysis.families:
            chosen = scores[scores.mask_family == family]
            if not chosen.empty:
                score_bars(chosen, "iou", f"{method}: IoU with the {family} masks ({primary})").savefig(figures / f"bars__{method}__{family}.png", dpi=110)
        pretrained = {s.network: s.pretrained for s in pooled}
        dendrograms(analysis.clusterings[method], pretrained).savefig(figures / f"dendrograms__{method}.png", dpi=110)
        distance_matrices(analysis.clusterings[method]).savefig(figures / f"distances__{method}.png", dpi=110)


def _cophenetic(value: float) -> str:
    return "n/a (fewer than 3 networks)" if np.isnan(value) else f"{value:.4f}"


def summary_markdown(analysis: Analysis, tables: dict, clustering: pd.DataFrame, title: str, description: dict[str, str]) -> str:
    """summary.md: what was analyzed, the network x expression tables, clustering, skips."""
    networks = sorted({s.network for s in analysis.sets})
    folds = sorted({str(s.fold) for s in analysis.sets if s.fold != POOLED})
    lines = [f"# {title}", ""]
    lines += [f"- {key}: {value}" for key, value in description.items()]
    lines += [
        f"- heatmap sets read: {analysis.read} "
        f"({len(networks)} networks, methods {', '.join(analysis.methods)}, folds {', '.join(folds) or 'none (pooled only)'})",
        f"- threshold: {analysis.threshold} on the min-max stretched uint8 heatmap (pixel > t is important)",
        f"- mask families: {', '.join(analysis.families)}",
        f"- skipped inputs: {len(analysis.skipped)}",
        "",
    ]
    for (method, family, metric, aggregation), table in tables.items():
        if metric not in SUMMARY_METRICS:
            continue
        how = "mean of the per-fold scores (the study's table)" if aggregation == FOLD_MEAN else "scores of the pooled heatmaps"
        lines += [f"## {SUMMARY_METRICS[metric]} · {method} · {family} masks · {how}", "", _markdown(table), ""]
    lines += ["## Clustering (1 - Pearson r between pooled heatmaps, average linkage)", ""]
    lines += ["| method | expression | cophenetic r | top two clusters |", "|---|---|---:|---|"]
    lines += [f"| {row.method} | {row.expression} | {_cophenetic(row.cophenetic)} | {row.groups} |" for row in clustering.itertuples()]
    lines.append("")
    if analysis.skipped:
        lines += ["## Skipped inputs", ""] + [f"- `{origin}`: {reason}" for origin, reason in analysis.skipped] + [""]
    return "\n".join(lines)


def write_report(analysis: Analysis, directory: str | Path, title: str, description: dict[str, str]) -> Path:
    """Write the whole report into ``directory`` (created); returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    analysis.scores.to_csv(directory / "scores.csv", index=False, float_format="%.6f")
    tables = write_tables(analysis, directory)
    clustering = write_clustering(analysis, directory)
    write_figures(analysis, directory)
    (directory / "summary.md").write_text(summary_markdown(analysis, tables, clustering, title, description))
    return directory
