"""Figure of per-class global heatmaps over the template face (landmarks and outline)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from faces.template import template_points
from formats.heatmap_artifact import stretch


def draw_template_landmarks(axis: Axes, linewidth: float = 0.6, size: float = 1.5) -> None:
    """The template's 68 landmarks and jaw outline, in white, over an image in template pixels."""
    points = template_points()[:68]
    axis.plot(points[:17, 0], points[:17, 1], color="white", linewidth=linewidth)
    axis.scatter(points[:, 0], points[:, 1], s=size, color="white")


def heatmap_figure(heatmaps: np.ndarray, classes: list[str], counts: list[int], title: str) -> Figure:
    """One panel per class: the min-max stretched heatmap [275, 224] (JET) with the
    template's 68 landmarks and jaw outline drawn over it; an empty class (count 0) shows
    only the outline and says "(empty)": it has no map, not a zero map."""
    figure = Figure(figsize=(2.2 * len(classes), 3.2), layout="tight")
    axes = figure.subplots(1, len(classes))
    for axis, name, heatmap, count in zip(np.atleast_1d(axes), classes, heatmaps, counts, strict=True):
        if count:
            axis.imshow(stretch(heatmap), cmap="jet", vmin=0, vmax=255)
        else:
            axis.imshow(np.zeros(heatmap.shape), cmap="gray", vmin=0, vmax=1)
            axis.text(heatmap.shape[1] / 2, heatmap.shape[0] / 2, "(empty)", color="white", ha="center", va="center", fontsize=10)
        draw_template_landmarks(axis)
        axis.set_title(f"{name}\n{count} images" if count else f"{name}\n(empty)", fontsize=8)
        axis.axis("off")
    figure.suptitle(title)
    return figure
