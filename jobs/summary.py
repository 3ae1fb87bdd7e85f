"""The short summary a training run prints at its end: metrics, where things went, and the
global heatmaps with their scores against the human masks."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # formats stands in jobs' layer: the type only, nothing imported at run time
    from ferlens.formats.manifest import HeatmapManifest


@dataclass
class HeatmapSummary:
    """One written heatmap artifact: ``key`` (method), its ``directory``, its ``manifest``
    (``formats.manifest.HeatmapManifest``), ``scores`` (one row per class: ``count`` and
    score columns, NaN for empty classes) and the ``figure`` of the heatmaps over the
    template face."""

    key: str
    directory: Path
    manifest: HeatmapManifest
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
    weights = summary.manifest.weights  # None only in manifests that predate it
    accuracy = weights.val_acc if weights is not None else None
    accuracy_text = "" if accuracy is None else f", val acc {accuracy:.4f}"
    split = summary.manifest.selection.split
    on = f" on the {split} split" if split else ""
    source, epoch = (weights.source, weights.epoch) if weights is not None else ("model", summary.manifest.run.epoch)
    title = f"{summary.key} heatmaps of the {source} (epoch {epoch + 1}{accuracy_text}){on}"  # counted from 1, as the bar and train.log
    table = Table(title=title, header_style="bold")
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


#: The overall metrics of the end-of-run table, in this order (per-class ones stay in the
#: metric loggers: CSV, W&B).
SHOWN_METRICS = ("acc", "f1", "loss", "att_cos", "cam_cos", "att_iou", "cam_iou")


def metrics_table(title: str, results: dict[str, float], seconds: float, tested: str = "best checkpoint", validated: str = "last epoch") -> Table:
    """Rows: the overall metrics the run has; columns: the validation of ``validated`` (the
    last epoch, or the given weights of a run that did not train) and, when the run tested,
    the test of ``tested`` (the weights tested); then the best validation accuracy and the
    duration."""
    stages = ("val", "test") if any(key.startswith("test/") for key in results) else ("val",)
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column(f"val ({validated})", justify="right")
    if "test" in stages:
        table.add_column(f"test ({tested})", justify="right")
    blank = [""] * (len(stages) - 1)
    for name in SHOWN_METRICS:
        values = [results.get(f"{stage}/{name}") for stage in stages]
        if any(value is not None for value in values):
            table.add_row(name, *("" if value is None else f"{value:.4f}" for value in values))
    if "best_val_acc" in results:
        table.add_row("best val acc", f"{results['best_val_acc']:.4f}", *blank)
    table.add_row("time", f"{seconds / 60:.1f} min", *blank)
    return table


def sanity_lines(summary: HeatmapSummary) -> list[str]:
    """The artifact's faithfulness (deletion / insertion AUC, ROAD) and the verdict of the
    model-parameter randomisation check (``+sanity=mprt``), one line each when it has them."""
    manifest, lines = summary.manifest, []
    if manifest.faithfulness is not None:
        overall = manifest.faithfulness.overall
        lines.append(
            f"{summary.key} faithfulness ({int(overall['counts'])} images): deletion AUC {overall['deletion_auc']:.3f} (lower = more faithful), "
            f"insertion AUC {overall['insertion_auc']:.3f} (higher), ROAD combined {overall['road_combined']:.3f} (higher)"
        )
    check = manifest.randomisation
    if check is not None:
        verdict = "FAILS the model-randomisation check" if check.fails else "passes the model-randomisation check"
        lines.append(
            f"{summary.key} {verdict}: Spearman r {check.fully_randomised_spearman:.3f} between its maps of the trained and of the fully "
            f"randomised network ({len(check.layers)} layers, {int(check.overall['counts'])} images; it fails above {check.threshold:g})"
        )
    return lines


def print_summary(
    title: str,
    results: dict[str, float],
    places: dict[str, str],
    seconds: float,
    heatmaps: list[HeatmapSummary] = (),
    log: logging.Logger | None = None,
    tested: str = "best checkpoint",
    validated: str = "last epoch",
) -> str:
    """Print the end-of-run summary: the overall metrics (validation of ``validated``, test of
    ``tested``), each heatmap artifact's table with its faithfulness and randomisation verdict
    and warnings about classes that got no map, where everything went (paths never wrapped);
    write the same text to ``log`` (the run's log file); return it."""
    console = Console(soft_wrap=True, record=True)
    console.print(metrics_table(title, results, seconds, tested, validated))
    for summary in heatmaps:
        console.print(heatmap_table(summary))
        for line in sanity_lines(summary):
            console.print(line, highlight=False)
        counts = summary.manifest.counts
        empty = summary.manifest.empty_classes
        if empty:
            console.print(f"[bold yellow]Warning[/bold yellow]: no {summary.key} heatmap for {', '.join(empty)} (no image selected): missing, not zero.")
        zero_maps = summary.manifest.zero_maps or {}  # None: not recorded
        if sum(zero_maps.values()):
            per_class = ", ".join(f"{name} {n}/{counts[name]}" for name, n in zero_maps.items() if n)
            console.print(
                f"[bold yellow]Warning[/bold yellow]: {summary.key} found no positive evidence (a map zero everywhere) in "
                f"{sum(zero_maps.values())} of {sum(counts.values())} images ({per_class}): the heatmaps rest on the others."
            )
    for summary in heatmaps:
        images = sum(summary.manifest.counts.values())
        split = summary.manifest.selection.split
        of = f" of the {split} split" if split else ""
        console.print(f"[bold]{summary.key} heatmaps[/bold] ({images} images{of}): {summary.directory}", highlight=False)
        console.print(f"[bold]{summary.key} figure[/bold]: {summary.figure}", highlight=False)
    for what, where in places.items():
        console.print(f"[bold]{what}[/bold]: {where}", highlight=False)
    text = console.export_text()
    if log is not None:
        log.info("run summary\n%s", text.rstrip())
    return text
