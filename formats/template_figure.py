"""Figure of per-class global heatmaps over the template face (landmarks and outline)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, template_points
from ferlens.formats.heatmap_artifact import stretch

SALIENCY_LABEL = "saliency, min-max stretched per map (0 = the map's minimum, 255 = its maximum)"


def draw_template_landmarks(axis: Axes, linewidth: float = 0.6, size: float = 1.5) -> None:
    """The template's 68 landmarks and jaw outline, in white, over an image in template pixels."""
    points = template_points()[:68]
    axis.plot(points[:17, 0], points[:17, 1], color="white", linewidth=linewidth)
    axis.scatter(points[:, 0], points[:, 1], s=size, color="white")


def draw_heatmap_panel(axis: Axes, gray: np.ndarray | None, name: str, count: int | None, fontsize: float = 8, landmark_size: float = 1.5) -> None:
    """One class panel: the gray heatmap uint8 [275, 224] in JET (0-255) under the template's
    landmarks, titled "<name>" and "(n=<count>)" (n left out when ``count`` is None: not
    known). None (an empty class) is a light gray panel saying "(empty)": no map, not a zero map."""
    if gray is None:
        axis.set_facecolor("0.88")
        axis.text(0.5, 0.5, "(empty)", ha="center", va="center", fontsize=fontsize, transform=axis.transAxes)
        axis.set_xlim(0, TEMPLATE_WIDTH)
        axis.set_ylim(TEMPLATE_HEIGHT, 0)
        axis.set_aspect("equal")
    else:
        axis.imshow(gray, cmap="jet", vmin=0, vmax=255)
        draw_template_landmarks(axis, linewidth=landmark_size / 3, size=landmark_size)
    axis.set_title(name if count is None else f"{name}\n(n={count})", fontsize=fontsize)
    axis.set_xticks([])
    axis.set_yticks([])


def add_saliency_colorbar(figure: Figure, axes: np.ndarray, note: str = "", fontsize: float = 7) -> None:
    """A horizontal JET colorbar (0-255, labelled ``SALIENCY_LABEL`` and ``note`` on a second
    line) under ``axes``; the figure needs ``layout="compressed"`` (no gaps between fixed-aspect maps)."""
    width, height = figure.get_size_inches()
    shrink, fraction, pad = min(0.9, 5.0 / width), min(0.15, 0.15 / height), min(0.15, 0.2 / height)  # about 5 x 0.12 inches, 0.2 inch down
    bar = figure.colorbar(
        ScalarMappable(Normalize(0, 255), "jet"), ax=axes, location="bottom", shrink=shrink, fraction=fraction, pad=pad, aspect=40, ticks=[0, 64, 128, 192, 255]
    )
    bar.set_label(f"{SALIENCY_LABEL}\n{note}" if note else SALIENCY_LABEL, fontsize=fontsize)
    bar.ax.tick_params(labelsize=fontsize)


def heatmap_figure(heatmaps: np.ndarray, classes: list[str], counts: list[int], title: str) -> Figure:
    """One panel per class: the min-max stretched heatmap [275, 224] (JET) with the
    template's 68 landmarks and jaw outline drawn over it, titled with the class and its
    image count; an empty class (count 0) says "(empty)"; one shared colorbar below."""
    figure = Figure(figsize=(1.8 * len(classes), 3.4), layout="compressed")
    axes = np.atleast_1d(figure.subplots(1, len(classes)))
    for axis, name, heatmap, count in zip(axes, classes, heatmaps, counts, strict=True):
        draw_heatmap_panel(axis, stretch(heatmap) if count else None, name, count)
    add_saliency_colorbar(figure, axes)
    figure.suptitle(title, fontsize=9)
    return figure
