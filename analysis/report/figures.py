"""Report figures: heatmap grid, masks, score bars, dendrograms and distance matrices."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from scipy.cluster.hierarchy import dendrogram

from ferlens.analysis.clustering import Clustering
from ferlens.evaluation.localisation.masks import MaskFamily
from ferlens.formats.template_figure import add_saliency_colorbar, draw_heatmap_panel, draw_template_landmarks

PRETRAINED_COLOURS = {True: "tab:blue", False: "tab:red", None: "black"}


def heatmap_grid(
    grays: dict[str, list[np.ndarray | None]],
    classes: list[str],
    counts: dict[str, list[int] | None],
    min_count: int = 1,
    reliability: dict[str, list[float]] | None = None,
    threshold: float = 0.8,
    pooling: str | None = None,
) -> Figure:
    """Rows = networks, columns = expressions: gray heatmaps (uint8 [275, 224] per class) in
    JET over the template's landmarks, each titled with its class and image count n from
    ``counts`` (per network; None: the source gives none, n left out and said so below);
    None (a class on fewer than ``min_count`` images) is marked "(empty)". With
    ``reliability`` (per network, per class; NaN unknown) each title gives the split-half
    reliability and a map below ``threshold`` gets a red frame. ``pooling`` names how the
    folds were pooled (said under the grid). One colorbar below."""
    unknown = [network for network, known in counts.items() if known is None]
    row_height = 1.75 if len(unknown) == len(counts) else 1.88  # inches: a 1.2-inch-wide map and its title
    figure = Figure(figsize=(1.4 * len(classes) + 0.2, row_height * len(grays) + 0.9), layout="compressed")
    axes = figure.subplots(len(grays), len(classes), squeeze=False)
    for row, (network, images) in enumerate(grays.items()):
        known = counts[network] or [None] * len(classes)
        reliable = (reliability or {}).get(network) or [float("nan")] * len(classes)
        for axis, name, image, count, value in zip(axes[row], classes, images, known, reliable, strict=True):
            draw_heatmap_panel(axis, image, name, count, fontsize=7, landmark_size=0.8)
            if image is not None and np.isfinite(value):
                low = value < threshold
                axis.set_title(f"{axis.get_title()}\nrel {value:.2f}{' (low)' if low else ''}", fontsize=7, color="tab:red" if low else "black")
                if low:
                    for spine in axis.spines.values():
                        spine.set(edgecolor="tab:red", linewidth=2.0)
        axes[row, 0].set_ylabel(network, fontsize=8)
    empty = "no image" if min_count == 1 else f"fewer than {min_count} images"
    if len(unknown) == len(counts):
        counted = "n (images per map) not given by the source"
    else:
        counted = "n = images averaged into the map" + (f" (not given by the source for {', '.join(unknown)})" if unknown else "")
    marked = f"; rel = split-half reliability (Spearman-Brown), red frame below {threshold:g}" if reliability else ""
    pooled = f"; pooled maps: {pooling}" if pooling else ""
    add_saliency_colorbar(figure, axes, note=f"{counted}; (empty) = {empty}: no map{marked}{pooled}")
    return figure


def mask_grid(families: dict[str, MaskFamily]) -> Figure:
    """Rows = mask families, columns = expressions: each mask (white) over the template
    landmarks (blank where a family has no mask for an expression)."""
    expressions = list(dict.fromkeys(name for family in families.values() for name in family))
    figure = Figure(figsize=(1.4 * len(expressions) + 0.2, 1.8 * len(families) + 0.2), layout="compressed")
    axes = figure.subplots(len(families), len(expressions), squeeze=False)
    for row, (label, family) in enumerate(families.items()):
        for axis, expression in zip(axes[row], expressions, strict=True):
            axis.imshow(family.get(expression, np.zeros((275, 224), bool)), cmap="gray", vmin=0, vmax=1)
            draw_template_landmarks(axis, linewidth=0.5, size=0.8)
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_title(expression if row == 0 else "", fontsize=8)
        axes[row, 0].set_ylabel(label, fontsize=8)
    return figure


def score_bars(scores: pd.DataFrame, metric: str, title: str, intervals: dict[tuple[str, str], tuple[float, float]] | None = None) -> Figure:
    """One panel per expression, all on one x-range from 0: ``metric`` per network (mean over
    the rows given, with whiskers of ±1 sample standard deviation (ddof = 1) over folds when a network has
    several, said in the caption); with one score per network, whiskers from ``intervals``
    ((network, expression) -> 95 % interval) where given; a network with no score (an empty class) is marked "(empty)"."""
    chosen = scores[scores.metric == metric]
    expressions = list(dict.fromkeys(chosen.expression))
    networks = list(dict.fromkeys(chosen.network))
    sizes = chosen.groupby(["network", "expression"]).size()
    folds, fewest = int(sizes.max()), int(sizes.min())
    figure = Figure(figsize=(1.9 * len(expressions) + 1.0, 1.3 + 0.16 * len(networks)), layout="constrained")
    axes = figure.subplots(1, len(expressions), sharey=True, sharex=True, squeeze=False)[0]
    for axis, expression in zip(axes, expressions, strict=True):
        values = chosen[chosen.expression == expression].groupby("network", sort=False)["value"]
        means = values.mean().reindex(networks)
        spreads = values.std(ddof=1).reindex(networks).fillna(0).values if folds > 1 else None
        if folds == 1 and intervals:
            bounds = np.array([intervals.get((network, expression), (np.nan, np.nan)) for network in networks], float).T
            spreads = np.nan_to_num(np.abs(bounds - means.to_numpy(float)[None, :]), nan=0.0)
        axis.barh(range(len(networks)), means.fillna(0).values, xerr=spreads, color="tab:gray", error_kw={"elinewidth": 0.8, "capsize": 1.5})
        for position in np.flatnonzero(means.isna().values):
            axis.text(0, position, " (empty)", va="center", fontsize=7)
        axis.set_title(expression, fontsize=8)
        axis.xaxis.set_major_locator(MaxNLocator(nbins=3))
        axis.tick_params(labelsize=7)
        axis.grid(axis="x", linewidth=0.4, alpha=0.5)
    axes[0].set_yticks(range(len(networks)), networks)
    axes[0].invert_yaxis()
    axes[0].set_xlim(left=0)
    figure.suptitle(title, fontsize=9)
    per_network = str(folds) if fewest == folds else f"{fewest}-{folds}"
    spread = "whiskers: ±1 SD over folds (ddof = 1)"
    if folds > 1:
        whiskers = f"bars: mean over folds ({per_network} per network); {spread}"
    else:
        whiskers = "bars: one score per network; whiskers: 95 % interval over the faces" if intervals else "bars: one score per network (no whiskers)"
    figure.supxlabel(f"{metric}  ·  {whiskers}", fontsize=7)
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


def supported_dendrograms(trees: dict[str, object], pretrained: dict[str, bool | None], linkage_name: str) -> Figure:
    """One dendrogram per expression under ``linkage_name`` (``trees``: expression ->
    ``analysis.statistics.Tree``), each merge labelled with its bootstrap probability (%),
    labels coloured by pretraining; the caption says how the bootstrap resampled."""
    columns = min(3, len(trees))
    rows = -(-len(trees) // columns)
    figure = Figure(figsize=(4.2 * columns, 3.6 * rows + 0.3), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in list(axes.flat)[len(trees) :]:
        axis.axis("off")
    for axis, (expression, tree) in zip(axes.flat, trees.items(), strict=False):
        drawn = dendrogram(tree.linkage, labels=tree.labels, ax=axis, orientation="right", color_threshold=0, above_threshold_color="black")
        positions = {leaf: 5.0 + 10.0 * i for i, leaf in enumerate(drawn["leaves"])}  # scipy's leaf coordinates
        n = len(tree.labels)
        for row, (left, right, height, _) in enumerate(tree.linkage):
            positions[n + row] = (positions[int(left)] + positions[int(right)]) / 2
            if np.isfinite(tree.bp[row]):
                axis.text(height, positions[n + row] + 1.0, f"{100 * tree.bp[row]:.0f}", fontsize=7, color="tab:green", ha="right", va="bottom")
        for tick in axis.get_yticklabels():
            tick.set_color(PRETRAINED_COLOURS[pretrained.get(tick.get_text())])
            tick.set_fontsize(8)
        axis.tick_params(axis="x", labelsize=7)
        axis.set_xlabel("1 - r" if linkage_name != "ward" else "sqrt(2 (1 - r))", fontsize=8)
        axis.set_title(f"{expression} ({linkage_name} linkage)", fontsize=9)
    resampling = next(iter(trees.values())).resampling if trees else ""
    figure.suptitle(f"Dendrograms, {linkage_name} linkage; green: bootstrap probability of each cluster (%), resampling {resampling}", fontsize=9)
    return figure


def specificity_matrices(matrices: dict[str, tuple[list[str], np.ndarray]], metric: str, family: str, p_values: dict[str, float], p_label: str = "p") -> Figure:
    """One panel per network: the [heatmap x mask] score matrix of ``metric`` (rows: the
    heatmap of each expression; columns: each expression's mask), the matched diagonal
    outlined, titled with the permutation p-value (``p_label`` says which, e.g. adjusted)."""
    count = len(matrices)
    columns = min(count, 4)
    rows = -(-count // columns)
    figure = Figure(figsize=(2.4 * columns + 0.8, 2.5 * rows + 0.4), layout="compressed")
    axes = figure.subplots(rows, columns, squeeze=False)
    values = [matrix for _, matrix in matrices.values()]
    low, high = float(np.nanmin([v.min() for v in values])), float(np.nanmax([v.max() for v in values]))
    image = None
    for axis, (network, (expressions, matrix)) in zip(axes.flat, matrices.items(), strict=False):
        image = axis.imshow(matrix, cmap="viridis", vmin=low, vmax=max(high, low + 1e-9))
        for i in range(len(expressions)):
            axis.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=1.2))
        short = [name[:3] for name in expressions]
        axis.set_xticks(range(len(expressions)), short, fontsize=6, rotation=90)
        axis.set_yticks(range(len(expressions)), short, fontsize=6)
        p = p_values.get(network)
        axis.set_title(f"{network}" + (f"\n{p_label} = {p:.3f}" if p is not None and np.isfinite(p) else ""), fontsize=7)
    for axis in list(axes.flat)[count:]:
        axis.axis("off")
    if image is not None:
        colorbar = figure.colorbar(image, ax=axes, shrink=0.7)
        colorbar.set_label(f"{metric} ({family} masks)", fontsize=7)
        colorbar.ax.tick_params(labelsize=6)
    caption = "columns: the mask of each expression; rows: the heatmap of each expression; white: its own mask"
    figure.supxlabel(textwrap.fill(caption, width=int(figure.get_figwidth() * 15)), fontsize=7)  # about 15 characters of 7 pt per inch
    return figure


def name_split(figure: Figure, split: str) -> Figure:
    """``figure`` with the explained split in its title (added to a title it has)."""
    title = figure._suptitle.get_text() if figure._suptitle is not None else ""
    figure.suptitle(f"{title} · {split}" if title else split, fontsize=10)
    return figure


#: Columns of the distance-matrix grid, and the side of one matrix cell in inches.
DISTANCE_COLUMNS = 3
DISTANCE_CELL_INCHES = 0.34


def distance_matrices(clusterings: dict[str, Clustering]) -> Figure:
    """One 1 - r matrix per expression, rows and columns in label order, in a grid of
    ``DISTANCE_COLUMNS`` columns sized so that every value prints legibly (at least 6 pt for
    up to 12 networks), on one shared colour scale with its colorbar."""
    sizes = [len(clustering.labels) for clustering in clusterings.values()]
    networks = max(sizes, default=1) or 1
    columns = min(DISTANCE_COLUMNS, max(1, len(clusterings)))
    rows = -(-max(1, len(clusterings)) // columns)
    label_room = 1.1 + 0.06 * max((len(label) for c in clusterings.values() for label in c.labels), default=0)  # inches for the tick labels
    panel = networks * DISTANCE_CELL_INCHES + label_room
    figure = Figure(figsize=(columns * panel + 0.9, rows * (panel + 0.3)), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    highest = max([float(c.distances.max()) for c in clusterings.values() if len(c.labels)] + [1e-9])
    value_size = max(6.0, min(9.0, 72 * DISTANCE_CELL_INCHES * 0.3))
    image = None
    for axis in axes.flat[len(clusterings) :]:
        axis.axis("off")
    for axis, (expression, clustering) in zip(axes.flat, clusterings.items(), strict=False):
        size = len(clustering.labels)
        axis.set_title(expression, fontsize=10)
        if size == 0:
            axis.text(0.5, 0.5, "no network", ha="center", va="center", fontsize=9)
            axis.axis("off")
            continue
        image = axis.imshow(clustering.distances, cmap="viridis", vmin=0, vmax=highest)
        axis.set_xticks(range(size), clustering.labels, rotation=90, fontsize=8)
        axis.set_yticks(range(size), clustering.labels, fontsize=8)
        if size <= 12:
            for i in range(size):
                for j in range(size):
                    shade = "black" if clustering.distances[i, j] > 0.6 * highest else "white"
                    axis.text(j, i, f"{clustering.distances[i, j]:.2f}", ha="center", va="center", fontsize=value_size, color=shade)
    if image is not None:
        colorbar = figure.colorbar(image, ax=axes, shrink=0.6, fraction=0.03)
        colorbar.set_label("1 - Pearson r between the pooled heatmaps", fontsize=9)
        colorbar.ax.tick_params(labelsize=8)
    return figure


def forest_plot(rows: pd.DataFrame, title: str, xlabel: str, zero: bool = True) -> Figure:
    """A forest plot: one panel per ``panel`` (in order of appearance), one line per ``label``
    (best ``value`` of the last panel, e.g. the network mean, on top; the same order in every panel), a dot at
    ``value`` with a whisker from ``low`` to ``high`` where both are finite, a dashed line
    at 0 when ``zero``. ``rows``: columns panel, label, value, low, high."""
    panels = list(dict.fromkeys(rows.panel))
    last = rows[rows.panel == panels[-1]].set_index("label").value
    labels = sorted(dict.fromkeys(rows.label), key=lambda label: -last.get(label, -np.inf) if np.isfinite(last.get(label, np.nan)) else np.inf)
    figure = Figure(figsize=(min(max(1.7 * len(panels) + 1.4, 6.0), 14.0), 1.0 + 0.2 * len(labels)), layout="constrained")
    axes = figure.subplots(1, len(panels), sharey=True, sharex=True, squeeze=False)[0]
    for axis, panel in zip(axes, panels, strict=True):
        chosen = rows[rows.panel == panel].set_index("label").reindex(labels)
        positions = np.arange(len(labels))
        low, high = chosen.low.to_numpy(float), chosen.high.to_numpy(float)
        known = np.isfinite(low) & np.isfinite(high)
        axis.hlines(positions[known], low[known], high[known], color="tab:blue", linewidth=1.2)
        axis.plot(chosen.value.to_numpy(float), positions, "o", color="black", markersize=3)
        if zero:
            axis.axvline(0, color="tab:red", linestyle="--", linewidth=0.8)
        axis.set_title(str(panel), fontsize=8)
        axis.tick_params(labelsize=7)
        axis.xaxis.set_major_locator(MaxNLocator(nbins=3))
        axis.grid(axis="x", linewidth=0.3, alpha=0.5)
    axes[0].set_yticks(range(len(labels)), labels)
    axes[0].invert_yaxis()
    figure.suptitle(title, fontsize=9)
    figure.supxlabel(xlabel, fontsize=7)
    return figure
