"""Figures logged during training."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def confusion_figure(confusion: np.ndarray, class_names: list[str], title: str) -> Figure:
    """Heat-map figure of a [C, C] confusion matrix (rows true, columns predicted), each cell
    showing its count and its share of the row."""
    rows = confusion.sum(axis=1, keepdims=True)
    share = np.divide(confusion, rows, out=np.zeros(confusion.shape, float), where=rows > 0)
    figure = Figure(figsize=(1 + 0.9 * len(class_names), 1 + 0.8 * len(class_names)), layout="tight")
    axes = figure.subplots()
    axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            axes.text(j, i, f"{int(confusion[i, j])}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=7, color="white" if share[i, j] > 0.5 else "black")
    axes.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    axes.set_yticks(range(len(class_names)), class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    return figure
