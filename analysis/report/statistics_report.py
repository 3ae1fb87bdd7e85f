"""The statistics' part of the report: their CSV tables, their figures, their summary.md
sections and the self-contained report/index.html.

reports/<name>/
  statistics/cells.csv         every pooled cell: score, 95 % CI, face prior, specific alignment + CI, units
  statistics/means.csv         network means and the grand mean with CIs (and the level each covers), rank-first shares
  statistics/differences.csv   every pair of networks: paired difference, CI, p, adjusted p
  statistics/fold_means.csv    per network: mean over folds with its t-interval
  statistics/seeds.csv         per architecture trained with several seeds: mean over seeds, differences, intervals of training and faces
  statistics/claims.csv        every p-value the report states as a finding, FDR-adjusted together
  statistics/baselines.csv     face prior, centre-bias Gaussian, uniform face, random weights
  statistics/specificity.csv   matched vs other masks, rank of the own mask
  statistics/permutation.csv   mask-label permutation tests per network and pooled
  statistics/reliability.csv   split-half r and Spearman-Brown reliability per map
  statistics/clusters.csv      every cluster of every tree with its bootstrap probability
  statistics/groups.csv        pretrained vs from-scratch permutation tests
  statistics/fold_spread.csv   mean, SD (ddof = 1) and t-interval over folds per cell
  figures/specificity__<method>__<family>.png, figures/dendrograms__<method>__<linkage>.png
  figures/forest__, headline__, differences__<method>__<family>.png   forest plots of the headline metric
  report/index.html
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferlens.analysis.findings import alignment_estimates, difference_estimates, score_estimates
from ferlens.analysis.report.figures import forest_plot, name_split, specificity_matrices, supported_dendrograms
from ferlens.analysis.report.statistics_tables import (
    HEADLINE_PARTS,
    STATISTICS_METRICS,
    cluster_table,
    difference_table,
    fold_mean_table,
    groups_table,
    headline_tables,
    interval_note,
    reliability_table,
    seed_mean_table,
    specificity_table,
)
from ferlens.analysis.statistics import Statistics

CSV_TABLES = (
    "cells", "means", "differences", "baselines", "specificity", "permutation", "reliability", "clusters", "groups", "fold_means", "seeds", "fold_spread",
    "claims",
)  # fmt: skip
BASELINE_NOTE = (
    "Baselines: face prior = for each expression, the network's mean map over its other classes, each weighted equally; "
    "centre-bias Gaussian = a Gaussian at the template centre (SD {sigma:g} x width and height); "
    "uniform face = 1 inside the face (above the jaw line), 0 outside; specific alignment = score - face-prior score."
)


def write_statistics_tables(statistics: Statistics, directory: Path) -> None:
    """``statistics/<table>.csv`` for every table of ``CSV_TABLES``."""
    folder = directory / "statistics"
    folder.mkdir(parents=True, exist_ok=True)
    for name in CSV_TABLES:
        getattr(statistics, name).to_csv(folder / f"{name}.csv", index=False, float_format="%.6f")


def reliability_marks(statistics: Statistics, method: str, networks: list[str], classes: list[str]) -> dict[str, list[float]] | None:
    """Per network, per class: the split-half reliability of its pooled map (NaN unknown); None without any."""
    chosen = statistics.reliability[statistics.reliability.method == method]
    if chosen.empty:
        return None
    table = chosen.set_index(["network", "expression"])["reliability"]
    return {network: [float(table.get((network, name), np.nan)) for name in classes] for network in networks}


def write_statistics_figures(analysis, statistics: Statistics, directory: Path) -> None:
    """The specificity matrices and the dendrograms with bootstrap probabilities per linkage."""
    figures = directory / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    for method in analysis.methods:
        pooled = analysis.pooled(method)
        for family_name in analysis.families:
            matrices = {}
            metric = statistics.settings.headline_of(family_name)
            for heatmap_set in pooled:
                expressions, scores = analysis.matrices[(*heatmap_set.key, family_name)]
                if len(expressions) >= 2:
                    matrices[heatmap_set.network] = (expressions, scores[metric])
            if not matrices:
                continue
            tests = statistics.permutation[
                (statistics.permutation.method == method) & (statistics.permutation.mask_family == family_name) & (statistics.permutation.metric == metric)
            ]
            p_values = dict(zip(tests.network, tests.p_adjusted, strict=True))  # the headline metric's p, adjusted over every claim
            figure = specificity_matrices(matrices, metric, family_name, p_values, "adjusted p")
            name_split(figure, f"{method} · {analysis.split_of(method)}").savefig(figures / f"specificity__{method}__{family_name}.png", dpi=110)
        write_forest_plots(analysis, statistics, method, figures)
        pretrained = {s.network: s.pretrained for s in pooled}
        for linkage_name in statistics.settings.linkages:
            trees = {expression: tree for (m, expression, name), tree in statistics.trees.items() if m == method and name == linkage_name}
            if trees:
                figure = name_split(supported_dendrograms(trees, pretrained, linkage_name), f"{method} · {analysis.split_of(method)}")
                figure.savefig(figures / f"dendrograms__{method}__{linkage_name}.png", dpi=110)


def write_forest_plots(analysis, statistics: Statistics, method: str, figures: Path) -> None:
    """Per mask family: the specific alignment (``forest__``), the headline scores
    (``headline__``) and, with several networks, their paired differences (``differences__``)."""
    split = f"{method} · {analysis.split_of(method)}"
    for family in analysis.families:
        metric = statistics.settings.headline_of(family)
        rows = alignment_estimates(analysis, statistics, method, family)
        if not rows.empty:
            figure = forest_plot(
                rows, f"{method}: specific alignment, {metric} - face prior ({family} masks)", f"{metric} - face-prior {metric} (95 % interval)"
            )
            name_split(figure, split).savefig(figures / f"forest__{method}__{family}.png", dpi=90)
        rows = score_estimates(analysis, statistics, method, family)
        if not rows.empty:
            figure = forest_plot(rows, f"{method}: {metric} per network and expression ({family} masks)", f"{metric} (95 % interval)", zero=False)
            name_split(figure, split).savefig(figures / f"headline__{method}__{family}.png", dpi=90)
        rows = difference_estimates(statistics, method, family)
        if not rows.empty:
            figure = forest_plot(rows, f"{method}: paired network differences of {metric} ({family} masks)", f"first - second {metric} (95 % interval)")
            name_split(figure, split).savefig(figures / f"differences__{method}__{family}.png", dpi=90)


def _escaped(value) -> str:
    """A markdown table cell: a ``|`` inside it escaped, so it does not split the cell."""
    return str(value).replace("|", "\\|")


def markdown(table, first: str) -> str:
    """A display table (text cells) as markdown."""
    header = f"| {_escaped(first)} | " + " | ".join(_escaped(column) for column in table.columns) + " |"
    rule = "|---|" + "---:|" * len(table.columns)
    rows = [
        f"| {_escaped(index)} | " + " | ".join(_escaped(value) for value in row) + " |"
        for index, row in zip(table.index, table.itertuples(index=False), strict=True)
    ]
    return "\n".join([header, rule, *rows])


def statistics_markdown(analysis, statistics: Statistics) -> list[str]:
    """summary.md's statistics sections for ``STATISTICS_METRICS`` (every metric is in the CSVs and report/index.html)."""
    lines = ["## Statistics", ""]
    lines += [f"- {note}" for note in statistics.notes]
    lines += [f"- {BASELINE_NOTE.format(sigma=statistics.settings.centre_sigma)}", "- the whole report with every metric: report/index.html", ""]
    for method in analysis.methods:
        note = interval_note(statistics, method)
        for family in analysis.families:
            for metric in STATISTICS_METRICS:
                tables = headline_tables(statistics, analysis.scores, method, family, metric)
                if tables is not None:
                    lines += [f"### {metric} · {method} · {analysis.split_of(method)} · {family} masks · with uncertainty and baselines", "", f"{note}.", ""]
                    for part, table in tables.items():
                        if not table.empty:
                            lines += [f"{HEADLINE_PARTS[part]}:", "", markdown(table, "network"), ""]
                table = specificity_table(statistics, method, family, metric)
                if table is not None:
                    heading = f"### Specificity · {metric} · {method} · {analysis.split_of(method)} · {family} masks"
                    lines += [heading, "", SPECIFICITY_CAPTION, "", markdown(table, "network"), ""]
            metric = statistics.settings.headline_of(family)
            table = difference_table(statistics, method, family, metric)
            if table is not None:
                heading = f"### Network differences · {metric} (headline) · {method} · {analysis.split_of(method)} · {family} masks"
                lines += [heading, "", DIFFERENCE_CAPTION, "", markdown(table, "first - second"), ""]
            table = fold_mean_table(statistics, method, family, metric)
            if table is not None:
                lines += [f"### Means over folds · {metric} · {method} · {family} masks", "", FOLD_CAPTION, "", markdown(table, "network"), ""]
            table = seed_mean_table(statistics, method, family, metric)
            if table is not None:
                lines += [f"### Means over seeds · {metric} · {method} · {family} masks", "", SEED_CAPTION, "", markdown(table, "architecture"), ""]
        table = reliability_table(statistics, method)
        if table is not None:
            lines += [
                f"### Split-half reliability · {method} · {analysis.split_of(method)}",
                "",
                RELIABILITY_CAPTION.format(t=statistics.settings.reliability_threshold),
                "",
                markdown(table, "network"),
                "",
            ]
        table = cluster_table(statistics, method)
        if table is not None:
            lines += [f"### Cluster stability · {method} · {analysis.split_of(method)}", "", CLUSTER_CAPTION, "", markdown(table, "expression"), ""]
        table = groups_table(statistics, method)
        if table is not None:
            lines += [f"### Pretrained vs from scratch · {method} · {analysis.split_of(method)}", "", GROUPS_CAPTION, "", markdown(table, "expression"), ""]
    return lines


SPECIFICITY_CAPTION = (
    "Each cell: the score against the expression's own mask (mean, max over the other expressions' masks) #rank of the own mask (1 = best) "
    "in the double-centred score matrix (a mask that scores high with every map gains nothing). "
    "Permutation p: the mask labels permuted over the expressions (per network exact over all assignments; pooled: each network's labels independently); "
    "adjusted: Benjamini-Hochberg over every claim of the report (the headline metric's tests); other metrics are exploratory."
)
DIFFERENCE_CAPTION = (
    "Mean over the classes both networks have of (first - second), with its paired interval and two-sided p (Benjamini-Hochberg adjusted over every claim): "
    "the same faces resampled for both networks, or, with several folds, the paired t over folds."
)
FOLD_CAPTION = "The mean over folds of each fold's mean score over expressions (the study's aggregation), with the t-interval over folds (training and faces)."
SEED_CAPTION = (
    "Networks of one fold that differ only in their seed, each explained on the same faces, as one architecture: the mean over seeds of their means "
    "over expressions, and differences of two architectures, with the interval of both levels: t with Welch-Satterthwaite df on the variance "
    "SE training^2 (the seeds' SD^2 / seeds) + SE faces^2 (the paired bootstrap of the faces they share); p of a difference: adjusted with every claim. "
    "The seeds' own rows above are given their models."
)
RELIABILITY_CAPTION = (
    "Whole map / class-specific pattern: split-half correlation over random halves of the units, Spearman-Brown corrected, of the map and of the map "
    "minus its leave-one-class-out face prior (the face structure all classes share inflates the first); (low) below {t:g}: the map would look "
    "different with other images."
)
CLUSTER_CAPTION = "The two clusters below the root of each tree, with the share of bootstrap trees that contain each (pvclust's BP)."
RANDOMISATION_CAPTION = (
    "Spearman and SSIM between the trained network's maps and those with its layers randomised from the output down (cascading); "
    "a mean Spearman above the threshold (0.5) with every layer randomised fails the check (Adebayo et al. 2018)."
)
GROUPS_CAPTION = (
    "Mean 1 - r between networks of the same group and of different groups; p: the pretrained labels permuted over the networks (one-sided: closer within)."
)
