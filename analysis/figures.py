"""Report figures: heatmap grid, masks, score bars, dendrograms and distance matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.cluster.hierarchy import dendrogram

from analysis.clustering import Clustering
from analysis.masks import MaskFamily
from formats.template_figure import draw_template_landmarks

PRETRAINED_COLOURS = {True: "tab:blue", False: "tab:red", None: "black"}


def _template_grid(rows: dict[str, list[np.ndarray | None]], columns: list[str], cmap: str, vmax: float, label_size: float) -> Figure:
    """A grid of template-space images [275, 224]: one row per ``rows`` entry (its label on
    the left), one column per ``columns`` name (titles on top), landmarks drawn over each;
    a None image is an empty class, marked "(empty)" instead of drawn."""
    figure = Figure(figsize=(1.4 * len(columns), 1.75 * len(rows) + 0.4), layout="tight")
    axes = figure.subplots(len(rows), len(columns), squeeze=False)
    for row, (label, images) in enumerate(rows.items()):
        for column, (name, image) in enumerate(zip(columns, images, strict=True)):
            axis = axes[row, column]
            if image is None:
                axis.text(0.5, 0.5, "(empty)", ha="center", va="center", fontsize=8, transform=axis.transAxes)
            else:
                axis.imshow(image, cmap=cmap, vmin=0, vmax=vmax)
                draw_template_landmarks(axis, linewidth=0.5, size=0.8)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(name, fontsize=8)
            if column == 0:
                axis.set_ylabel(label, fontsize=label_size)
    return figure


def heatmap_grid(grays: dict[str, list[np.ndarray | None]], classes: list[str]) -> Figure:
    """Rows = networks, columns = expressions: gray heatmaps (uint8 [275, 224] per class) in
    JET over the template's landmarks; None (an empty class) is marked "(empty)"."""
    return _template_grid(grays, classes, "jet", 255, label_size=7)


def mask_grid(families: dict[str, MaskFamily]) -> Figure:
    """Rows = mask families, columns = expressions: each mask over the template landmarks
    (blank where a family has no mask for an expression)."""
    expressions = list(dict.fromkeys(name for family in families.values() for name in family))
    rows = {name: [family.get(expression, np.zeros((275, 224), bool)) for expression in expressions] for name, family in families.items()}
    return _template_grid(rows, expressions, "gray", 1, label_size=8)


def score_bars(scores: pd.DataFrame, metric: str, title: str) -> Figure:
    """One panel per expression: ``metric`` per network (mean over the rows given, with the
    standard deviation over folds as error bars when there are several); a network with no
    score (an empty class) is marked "(empty)"."""
    expressions = list(dict.fromkeys(scores.expression))
    networks = list(dict.fromkeys(scores.network))
    figure = Figure(figsize=(2.2 * len(expressions), 2.2 + 0.12 * len(networks)), layout="tight")
    axes = figure.subplots(1, len(expressions), sharey=True, squeeze=False)
    for axis, expression in zip(axes[0], expressions, strict=True):
        values = scores[(scores.expression == expression) & (scores.metric == metric)].groupby("network", sort=False)["value"]
        means, spreads = values.mean().reindex(networks), values.std(ddof=0).reindex(networks).fillna(0)
        axis.barh(range(len(networks)), means.fillna(0).values, xerr=spreads.values, color="tab:gray")
        for position in np.flatnonzero(means.isna().values):
            axis.text(0, position, " (empty)", va="center", fontsize=6)
        axis.set_yticks(range(len(networks)), networks, fontsize=7)
        axis.invert_yaxis()
        axis.set_title(expression, fontsize=8)
        axis.set_xlabel(metric, fontsize=8)
    figure.suptitle(title, fontsize=9)
    return figure


def dendrograms(clusterings: dict[str, Clustering], pretrained: dict[str, bool | None]) -> Figure:
    """One dendrogram per expression (distance 1 - r, average linkage); labels coloured by
    ImageNet pretraining (blue) or not (red) when known; networks left out (empty class) named in the title."""
    figure = Figure(figsize=(2.6 * len(clusterings), 3.2), layout="tight")
    axes = figure.subplots(1, len(clusterings), squeeze=False)
    for axis, (expression, clustering) in zip(axes[0], clusterings.items(), strict=True):
        if clustering.linkage is None:
            count = len(clustering.labels)
            axis.text(0.5, 0.5, f"{count} network{'' if count == 1 else 's'}:\nno tree", ha="center", va="center", fontsize=8)
            axis.axis("off")
        else:
            dendrogram(clustering.linkage, labels=clustering.labels, ax=axis, orientation="right", color_threshold=0, above_threshold_color="black")
            for tick in axis.get_yticklabels():
                tick.set_color(PRETRAINED_COLOURS[pretrained.get(tick.get_text())])
                tick.set_fontsize(7)
            axis.set_xlabel("1 - r", fontsize=8)
        cophenetic = "" if np.isnan(clustering.cophenetic) else f"\ncophenetic r {clustering.cophenetic:.3f}"
        excluded = f"\nleft out (empty): {', '.join(clustering.excluded)}" if clustering.excluded else ""
        axis.set_title(f"{expression}{cophenetic}{excluded}", fontsize=8)
    return figure


def distance_matrices(clusterings: dict[str, Clustering]) -> Figure:
    """One 1 - r matrix per expression, rows and columns in label order, values printed."""
    figure = Figure(figsize=(3.0 * len(clusterings), 3.2), layout="tight")
    axes = figure.subplots(1, len(clusterings), squeeze=False)
    for axis, (expression, clustering) in zip(axes[0], clusterings.items(), strict=True):
        size = len(clustering.labels)
        axis.set_title(expression, fontsize=8)
        if size == 0:
            axis.text(0.5, 0.5, "no network", ha="center", va="center", fontsize=8)
            axis.axis("off")
            continue
        axis.imshow(clustering.distances, cmap="viridis", vmin=0, vmax=max(1e-9, float(clustering.distances.max())))
        axis.set_xticks(range(size), clustering.labels, rotation=90, fontsize=6)
        axis.set_yticks(range(size), clustering.labels, fontsize=6)
        if size <= 12:
            for i in range(size):
                for j in range(size):
                    axis.text(j, i, f"{clustering.distances[i, j]:.2f}", ha="center", va="center", fontsize=4.5, color="white")
    return figure
