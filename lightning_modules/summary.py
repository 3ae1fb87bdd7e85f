"""The short summary a training run prints at its end: metrics, where things went, and the
global heatmaps with their scores against the human masks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table


@dataclass
class HeatmapSummary:
    """One written heatmap artifact: ``key`` (method), its ``directory``, its ``manifest``,
    ``scores`` (one row per class: ``count`` and score columns, NaN for empty classes) and
    the ``figure`` of the heatmaps over the template face."""

    key: str
    directory: Path
    manifest: dict
    scores: pd.DataFrame
    figure: Path


#: The score columns the end-of-run table shows, with their headings (the artifact holds more).
SHOWN_SCORES = {
    "ekman_iou": "IoU Ekman",
    "au_iou": "IoU AU",
    "ekman_mass_accuracy": "mass in Ekman",
    "au_mass_accuracy": "mass in AU",
}


def heatmap_table(summary: HeatmapSummary) -> Table:
    """Per class: the image count, the Otsu IoU against the Ekman and AU masks and the share
    of the map's mass inside them (``-`` where the class is empty), and their means."""
    weights = summary.manifest.get("weights", {})
    accuracy = weights.get("val_acc")
    accuracy_text = "" if accuracy is None else f", val acc {accuracy:.4f}"
    table = Table(title=f"{summary.key} heatmaps of the {weights.get('source', 'model')} (epoch {weights.get('epoch')}{accuracy_text})", header_style="bold")
    scores = summary.scores[["count", *SHOWN_SCORES]]
    table.add_column("class")
    table.add_column("images", justify="right")
    for heading in SHOWN_SCORES.values():
        table.add_column(heading, justify="right")
    for name, row in scores.iterrows():
        table.add_row(str(name), *(_cell(column, value) for column, value in row.items()))
    means = scores.mean(skipna=True)
    means["count"] = scores["count"].sum()
    table.add_row("[bold]mean[/bold]", *(_cell(column, value) for column, value in means.items()))
    return table


def _cell(column: str, value: float) -> str:
    if column == "count":
        return str(int(value))
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def print_summary(title: str, results: dict[str, float], places: dict[str, str], seconds: float, heatmaps: list[HeatmapSummary] = ()) -> Table:
    """Print (and return) a table of the run's metrics, the heatmap tables, where the run's
    outputs went and its duration; warn about classes that got no heatmap."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in sorted(results):
        table.add_row(name, f"{results[name]:.4f}")
    table.add_row("time", f"{seconds / 60:.1f} min")
    console = Console(soft_wrap=True)
    console.print(table)
    for summary in heatmaps:
        console.print(heatmap_table(summary))
        empty = [name for name, count in summary.manifest["counts"].items() if count == 0]
        if empty:
            console.print(f"[bold yellow]Warning[/bold yellow]: no {summary.key} heatmap for {', '.join(empty)} (no image selected): missing, not zero.")
        zero_maps = summary.manifest.get("zero_maps", {})
        if sum(zero_maps.values()):
            per_class = ", ".join(f"{name} {n}/{summary.manifest['counts'][name]}" for name, n in zero_maps.items() if n)
            console.print(
                f"[bold yellow]Warning[/bold yellow]: {summary.key} found no positive evidence (a map zero everywhere) in "
                f"{sum(zero_maps.values())} of {sum(summary.manifest['counts'].values())} images ({per_class}): the heatmaps rest on the others."
            )
        console.print(f"[bold]{summary.key} figure[/bold]: {summary.figure}")
    for what, where in places.items():
        console.print(f"[bold]{what}[/bold]: {where}")
    return table
