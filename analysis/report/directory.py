"""The report directory: tidy scores, the study's tables, clustering and figures.

reports/<name>/
  scores.csv                    network, fold, method, expression, mask_family, metric, value
  tables/<method>__<family>__<metric>__<aggregation>.csv   network x expression (+ means)
  tables/<method>__n__<aggregation>.csv   what each cell rests on: folds (fold-mean) or images (pooled)
  clustering.csv                method, expression, cophenetic, groups (top two clusters), excluded
  distances/<method>__<Expr>.csv   1 - r between the networks' pooled heatmaps
  figures/heatmaps__<method>.png, masks.png, bars__<method>__<family>.png,
          dendrograms__<method>.png, distances__<method>.png
  summary.md                    empty-class warning, grand means, the tables as in the study,
                                clustering, skipped inputs, and the statistics
  statistics/, report/index.html  with statistics (``statistics_report.py``)

A method whose expressions never have two networks with a heatmap (one network, or all but one
empty) has no clustering rows, distances/ or dendrogram and distance figures: summary.md says why.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ferlens.analysis.aggregate import FOLD_MEAN, count_table, network_table
from ferlens.analysis.findings import MethodFindings, findings
from ferlens.analysis.heatmap_set import POOLED, POOLING_EQUAL
from ferlens.analysis.pipeline import Analysis
from ferlens.analysis.report.beside import drawn_beside
from ferlens.analysis.report.figures import dendrograms, distance_matrices, heatmap_grid, mask_grid, name_split, score_bars
from ferlens.analysis.report.findings_text import findings_markdown
from ferlens.analysis.report.importance import write_importance_report
from ferlens.analysis.report.sanity_report import FAITHFULNESS_CAPTION, randomisation_curves, sanity_text
from ferlens.analysis.report.sections import PageContext, write_html
from ferlens.analysis.report.statistics_report import markdown, reliability_marks, statistics_markdown, write_statistics_figures, write_statistics_tables
from ferlens.analysis.sanity import faithfulness_table, randomisation_table
from ferlens.analysis.statistics import Statistics
from ferlens.analysis.statistics.importance_analysis import ImportanceAnalysis
from ferlens.evaluation.localisation.scores import METRICS

# metric -> heading in summary.md (every metric is in scores.csv, tables/ and the grand means)
SUMMARY_METRICS = {
    "iou": "IoU",
    "f1": "F1",
    "mass_accuracy": "Relevance mass accuracy",
    "rank_accuracy": "Relevance rank accuracy",
    "pointing_game": "Pointing game",
    "roc_auc": "ROC-AUC",
}
COUNT_HEADINGS = {FOLD_MEAN: "folds each fold-mean cell rests on", POOLED: "images behind each pooled heatmap"}


def aggregations(analysis: Analysis, method: str) -> list[str]:
    """``FOLD_MEAN`` when the method has per-fold heatmaps (listed first: the study's table), and ``POOLED``."""
    has_folds = any(s.method == method and s.fold != POOLED for s in analysis.sets)
    return [FOLD_MEAN, POOLED] if has_folds else [POOLED]


def _score_cell(value: float) -> str:
    return "(empty)" if np.isnan(value) else f"{value:.4f}"


def _count_cell(value: float) -> str:
    return "?" if np.isnan(value) else str(int(value))


def _markdown(table: pd.DataFrame, cell: Callable[[float], str] = _score_cell, first: str = "network") -> str:
    """A markdown table: the index in the first column (``first`` its heading), cells formatted by ``cell``."""
    header = f"| {first} | " + " | ".join(str(column) for column in table.columns) + " |"
    rule = "|---|" + "---:|" * len(table.columns)
    rows = [f"| {'**mean**' if index == 'mean' else index} | " + " | ".join(cell(value) for value in row) + " |" for index, row in table.iterrows()]
    return "\n".join([header, rule, *rows])


def write_tables(analysis: Analysis, directory: Path) -> dict[tuple[str, str, str, str], pd.DataFrame]:
    """Every (method, family, metric, aggregation) table as CSV (NaN = empty, written blank);
    returns them by that key."""
    tables = {}
    (directory / "tables").mkdir(parents=True, exist_ok=True)
    for method in analysis.methods:
        for family in analysis.families:
            for metric in METRICS:
                for aggregation in aggregations(analysis, method):
                    table = network_table(analysis.scores, metric, family, method, aggregation)
                    if not table.empty:
                        table.to_csv(directory / "tables" / f"{method}__{family}__{metric}__{aggregation}.csv", float_format="%.6f")
                        tables[method, family, metric, aggregation] = table
    return tables


def write_count_tables(analysis: Analysis, directory: Path) -> dict[tuple[str, str], pd.DataFrame]:
    """Per (method, aggregation): network x class table of what each cell rests on
    (``count_table``), as ``tables/<method>__n__<aggregation>.csv``; returns them by that key."""
    counts = {}
    for method in analysis.methods:
        for aggregation in aggregations(analysis, method):
            table = count_table(analysis.sets, method, aggregation, analysis.min_count)
            table.to_csv(directory / "tables" / f"{method}__n__{aggregation}.csv")
            counts[method, aggregation] = table
    return counts


def grand_means(tables: dict[tuple[str, str, str, str], pd.DataFrame]) -> pd.DataFrame:
    """One row per (method, masks, aggregation), one column per metric: the grand mean (the
    mean of the per-network means, empty classes left out)."""
    values = {(method, family, aggregation): {} for method, family, _, aggregation in tables}
    for (method, family, metric, aggregation), table in tables.items():
        values[method, family, aggregation][metric] = table.loc["mean", "mean"]
    frame = pd.DataFrame.from_dict(values, orient="index", columns=list(METRICS))
    frame.index = [" · ".join(key) for key in frame.index]
    return frame


def clustered(analysis: Analysis, method: str) -> bool:
    """True when some expression of ``method`` has at least two networks with a heatmap: else
    dendrograms and distance matrices have nothing to show."""
    return any(len(clustering.labels) >= 2 for clustering in analysis.clusterings[method].values())


def unclustered_note(analysis: Analysis, method: str) -> str:
    """One sentence: why ``method`` has no dendrograms or distance matrices (``clustered`` is False)."""
    networks = [s.network for s in analysis.pooled(method)]
    if len(networks) == 1:
        return f"Dendrograms and distance matrices need at least two networks; this report has one ({networks[0]})."
    return (
        f"Dendrograms and distance matrices need at least two networks; {method} has no expression with two non-empty heatmaps "
        f"(networks: {', '.join(networks) or 'none'})."
    )


def write_clustering(analysis: Analysis, directory: Path) -> pd.DataFrame:
    """Distance matrices and the per-expression cophenetic correlation, top-two groups and the
    networks left out (their class is empty); nothing for a method that is not ``clustered``."""
    rows = []
    for method, by_expression in analysis.clusterings.items():
        if not clustered(analysis, method):
            continue
        (directory / "distances").mkdir(parents=True, exist_ok=True)
        for expression, clustering in by_expression.items():
            pd.DataFrame(clustering.distances, index=clustering.labels, columns=clustering.labels).to_csv(
                directory / "distances" / f"{method}__{expression}.csv", float_format="%.6f"
            )
            groups = " vs ".join("{" + ", ".join(group) + "}" for group in clustering.groups(2)) if clustering.labels else "no network"
            rows.append((method, expression, clustering.cophenetic, groups, ", ".join(clustering.excluded)))
    frame = pd.DataFrame(rows, columns=["method", "expression", "cophenetic", "groups", "excluded"])
    frame.to_csv(directory / "clustering.csv", index=False, float_format="%.6f")
    return frame


def pooling_label(analysis: Analysis, method: str) -> str | None:
    """How ``method``'s pooled heatmaps were pooled when that is not the mean of all images
    (``POOLING_EQUAL``), for every table and figure that shows them; else None."""
    return POOLING_EQUAL if any(s.pooling == POOLING_EQUAL for s in analysis.pooled(method)) else None


def row_label(analysis: Analysis, method: str, network: str) -> str:
    """A heatmap-grid row: the network's label and, when the manifests say, the weights
    explained and their validation accuracy (a random-weights run is told from a trained one)."""
    weights = [
        s.manifest.weights for s in analysis.sets
        if s.method == method and s.network == network and s.fold != POOLED and s.manifest is not None and s.manifest.weights is not None
    ]  # fmt: skip
    if not weights:
        return network
    accuracy = [w.val_acc for w in weights if w.val_acc is not None]
    kind = ", ".join(sorted({w.source for w in weights}))
    return f"{network}\n{kind}" + (f", val acc {np.mean(accuracy):.3f}" if accuracy else ", no val acc")


def write_figures(analysis: Analysis, directory: Path, statistics: Statistics | None = None) -> None:
    """The report's figures; an empty class is marked "(empty)" in the heatmap grid and the bars;
    no dendrograms or distance matrices for a method that is not ``clustered``. With
    ``statistics``, the heatmap grid marks each map's reliability."""
    figures = directory / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    mask_grid(analysis.families).savefig(figures / "masks.png", dpi=110)
    for method in analysis.methods:
        pooled = analysis.pooled(method)
        rows = {s.network: row_label(analysis, method, s.network) for s in pooled}
        grays = {rows[s.network]: [None if missing else gray for gray, missing in zip(s.gray(), s.missing(analysis.min_count), strict=True)] for s in pooled}
        counts = {rows[s.network]: s.counts for s in pooled}
        marks = reliability_marks(statistics, method, list(rows), analysis.classes) if statistics is not None else None
        marks = {rows[network]: values for network, values in marks.items()} if marks is not None else None
        threshold = statistics.settings.reliability_threshold if statistics is not None else 0.8
        grid = heatmap_grid(grays, analysis.classes, counts, analysis.min_count, marks, threshold, pooling_label(analysis, method))
        split = analysis.split_of(method)
        name_split(grid, f"{method} · {split}").savefig(figures / f"heatmaps__{method}.png", dpi=110)
        scores = analysis.scores[analysis.scores.method == method]
        primary = aggregations(analysis, method)[0]
        scores = scores[scores.fold == POOLED] if primary == POOLED else scores[scores.fold != POOLED]
        for family in analysis.families:
            chosen = scores[scores.mask_family == family]
            if not chosen.empty:
                how = primary if primary != POOLED or pooling_label(analysis, method) is None else f"pooled: {POOLING_EQUAL}"
                intervals = None
                if statistics is not None:  # used where each network has one score (one fold, or pooled)
                    cells = statistics.cells
                    cells = cells[(cells.method == method) & (cells.mask_family == family) & (cells.metric == "iou")]
                    intervals = {(c.network, c.expression): (c.ci_low, c.ci_high) for c in cells.itertuples()} or None
                bars = score_bars(chosen, "iou", f"{method} ({split}): IoU with the {family} masks ({how})", intervals)
                bars.savefig(figures / f"bars__{method}__{family}.png", dpi=110)
        curves = randomisation_curves(analysis, method)
        if curves is not None:
            name_split(curves, split).savefig(figures / f"randomisation__{method}.png", dpi=110)
        if not clustered(analysis, method):
            continue
        pretrained = {s.network: s.pretrained for s in pooled}
        name_split(dendrograms(analysis.clusterings[method], pretrained), f"{method} · {split}").savefig(figures / f"dendrograms__{method}.png", dpi=110)
        name_split(distance_matrices(analysis.clusterings[method]), f"{method} · {split}").savefig(figures / f"distances__{method}.png", dpi=110)


def _cophenetic(value: float) -> str:
    return "n/a (fewer than 3 networks)" if np.isnan(value) else f"{value:.4f}"


def flat_warning(analysis: Analysis) -> list[str]:
    """The summary's warning naming every class heatmap that is one value everywhere (all zero); none when there is none."""
    cells = analysis.flat_cells()
    if not cells:
        return []
    named = "; ".join(f"{network} · {method} · fold {fold}: {name}" for network, method, fold, name in cells)
    how = "no evidence; scored as maps with nothing above the threshold"
    return [f"> **Warning: {len(cells)} class heatmap(s) are the same value everywhere** ({how}): {named}.", ""]


def empty_warning(analysis: Analysis) -> list[str]:
    """The summary's opening warning naming every empty (network, method, fold, class) cell; none when there is none."""
    cells = analysis.empty_cells()
    if not cells:
        return []
    by_set: dict[tuple[str, str, str], list[str]] = {}
    for network, method, fold, name in cells:
        by_set.setdefault((network, method, fold), []).append(name)
    named = "; ".join(f"{network} · {method} · fold {fold}: {', '.join(names)}" for (network, method, fold), names in by_set.items())
    return [
        f"> **Warning: {len(cells)} empty class heatmap(s)** (fewer than min_count={analysis.min_count} images): "
        f"scored NaN, shown as (empty), left out of every mean and of the clustering: {named}.",
        "",
    ]


def explained_splits(analysis: Analysis) -> str:
    """Which split each method's heatmaps explained (the manifests' ``selection.split``)."""
    splits: dict[str, set[str]] = {}
    for heatmap_set in analysis.sets:
        if heatmap_set.fold != POOLED or heatmap_set.manifest is not None:
            split = heatmap_set.split or "not recorded"
            splits.setdefault(heatmap_set.method, set()).add(split)
    return "; ".join(f"{method}: {', '.join(sorted(names))}" for method, names in splits.items()) or "not recorded (the source has no manifests)"


def same_as_pooled(tables: dict[tuple[str, str, str, str], pd.DataFrame]) -> set[tuple[str, str, str, str]]:
    """The fold-mean tables equal to their pooled twin (every network has one fold, so the
    mean over folds is that fold's, the pooled heatmap's score): summary.md shows them once."""
    return {
        key for key, table in tables.items()
        if key[3] == FOLD_MEAN and (twin := tables.get((*key[:3], POOLED))) is not None and table.shape == twin.shape
        and table.index.equals(twin.index) and np.allclose(table.to_numpy(float), twin.to_numpy(float), rtol=0, atol=1e-9, equal_nan=True)
    }  # fmt: skip


def sanity_markdown(analysis: Analysis) -> list[str]:
    """The sanity checks' sections of summary.md (faithfulness beside localisation, randomisation)."""
    lines = []
    family = next(iter(analysis.families))
    for method in analysis.methods:
        split = analysis.split_of(method)
        faithful, randomised = faithfulness_table(analysis, method, family), randomisation_table(analysis, method)
        if faithful is not None:
            lines += [f"## Faithfulness · {method} · {split} (beside the localisation scores)", "", FAITHFULNESS_CAPTION, ""]
            lines += [markdown(sanity_text(faithful), "network"), ""]
        if randomised is not None:
            lines += [f"## Model-parameter randomisation · {method} · {split}", "", markdown(sanity_text(randomised), "network"), ""]
    return lines


def summary_markdown(
    analysis: Analysis,
    tables: dict,
    counts: dict[tuple[str, str], pd.DataFrame],
    clustering: pd.DataFrame,
    title: str,
    description: dict[str, str],
    statistics: Statistics | None = None,
    answers: list[MethodFindings] | None = None,
) -> str:
    """summary.md: the findings (with ``answers``), the empty-class warning, what was analyzed, the grand means, the network x
    expression tables with what their cells rest on, clustering, the statistics, skips."""
    networks = sorted({s.network for s in analysis.sets})
    folds = sorted({str(s.fold) for s in analysis.sets if s.fold != POOLED})
    lines = [f"# {title}", "", *empty_warning(analysis), *flat_warning(analysis), *(findings_markdown(answers) if answers else [])]
    equal = [method for method in analysis.methods if pooling_label(analysis, method)]
    if equal:
        lines += [f"> **Note: the pooled heatmaps of {', '.join(equal)} are the {POOLING_EQUAL}**: the folds give no image counts.", ""]
    lines += [f"- {key}: {value}" for key, value in description.items()]
    lines += [
        f"- heatmap sets read: {analysis.read} "
        f"({len(networks)} networks, methods {', '.join(analysis.methods)}, folds {', '.join(folds) or 'none (pooled only)'})",
        f"- explained split: {explained_splits(analysis)}",
        f"- threshold: {analysis.threshold} on the min-max stretched uint8 heatmap (pixel > t is important)",
        "- localisation metrics (mass accuracy, rank accuracy, pointing game, ROC-AUC) on the unthresholded heatmap",
        f"- min_count: {analysis.min_count} (a class heatmap on fewer images is empty: NaN, left out of the means)",
        f"- mask families: {', '.join(analysis.families)}",
        f"- skipped inputs: {len(analysis.skipped)}",
        "",
    ]
    if tables:
        lines += ["## Grand means (mean of the per-network means)", "", _markdown(grand_means(tables), first="method · masks · aggregation"), ""]
    repeated = same_as_pooled(tables)
    for (method, aggregation), table in counts.items():
        if aggregation == FOLD_MEAN and any(key[0] == method for key in repeated):
            continue  # one fold per network: every cell rests on that one fold
        known = _markdown(table, _count_cell) if table.notna().any(axis=None) else "Not known: the source gives no image counts."
        lines += [f"## n · {method} · {analysis.split_of(method)} · {COUNT_HEADINGS[aggregation]}", "", known, ""]
    for (method, family, metric, aggregation), table in tables.items():
        if metric not in SUMMARY_METRICS or (method, family, metric, aggregation) in repeated:
            continue
        how = "mean of the per-fold scores (the study's table)" if aggregation == FOLD_MEAN else "scores of the pooled heatmaps"
        if (method, family, metric, FOLD_MEAN) in repeated:
            how += " (one fold per network: the same as the fold mean, shown once)"
        if aggregation == POOLED and pooling_label(analysis, method):
            how += f" ({POOLING_EQUAL})"
        lines += [f"## {SUMMARY_METRICS[metric]} · {method} · {analysis.split_of(method)} · {family} masks · {how}", "", _markdown(table), ""]
    lines += ["## Clustering (1 - Pearson r between pooled heatmaps, average linkage)", ""]
    if not clustering.empty:
        lines += ["| method | expression | cophenetic r | top two clusters | left out (empty) |", "|---|---|---:|---|---|"]
        lines += [
            f"| {row.method} | {row.expression} | {_cophenetic(row.cophenetic)} | {row.groups} | {row.excluded or '-'} |" for row in clustering.itertuples()
        ]
        lines.append("")
    notes = list(dict.fromkeys(unclustered_note(analysis, method) for method in analysis.methods if not clustered(analysis, method)))
    lines += [*notes, ""] if notes else []
    lines += sanity_markdown(analysis)
    if statistics is not None:
        lines += statistics_markdown(analysis, statistics)
    if analysis.skipped:
        lines += ["## Skipped inputs", ""] + [f"- `{origin}`: {reason}" for origin, reason in analysis.skipped] + [""]
    return "\n".join(lines)


def write_report(
    analysis: Analysis,
    directory: str | Path,
    title: str,
    description: dict[str, str],
    statistics: Statistics | None = None,
    run: dict[str, str] | None = None,
    answers: list[MethodFindings] | None = None,
    importance: ImportanceAnalysis | None = None,
) -> Path:
    """Write the whole report into ``directory`` (created), with ``statistics`` their tables,
    figures and sections and the findings (``answers``, computed from them when not given),
    and report/index.html (``run``: the command and config that made it), with the
    region-importance part (``importance``) when given; returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    analysis.scores.to_csv(directory / "scores.csv", index=False, float_format="%.6f")
    tables = write_tables(analysis, directory)
    counts = write_count_tables(analysis, directory)
    clustering = write_clustering(analysis, directory)
    if statistics is not None:
        write_statistics_tables(statistics, directory)
        with drawn_beside(lambda: write_statistics_figures(analysis, statistics, directory)):
            write_figures(analysis, directory, statistics)
    else:
        write_figures(analysis, directory, statistics)
    if statistics is not None and answers is None:
        answers = findings(analysis, statistics)
    summary = summary_markdown(analysis, tables, counts, clustering, title, description, statistics, answers)
    (directory / "summary.md").write_text(summary + (write_importance_report(importance, directory) if importance is not None else ""))
    write_html(PageContext(analysis, statistics, tables, answers or [], directory, description, run or {}, importance), title)
    return directory
