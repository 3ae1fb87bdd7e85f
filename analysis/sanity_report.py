"""The sanity checks the heatmap artifacts carry (``callbacks/sanity.py``), per method and
network, beside the localisation scores: faithfulness (deletion / insertion AUC, ROAD) and the
model-parameter randomisation check (Spearman with the fully randomised network's maps, the
verdict, the curve over the randomised depth).

Faithfulness is compared across networks on the normalised scores (each image's score divided
by its unperturbed target probability, ``saliency.faithfulness``): the raw AUCs scale with a
network's confidence. A network's value weighs its classes equally, as its localisation
scores do: per class the image-weighted mean over its artifacts (folds), then the mean over
its classes with images. The raw scores stay in the manifests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ferlens.analysis.heatmap_set import POOLED
from ferlens.formats.manifest import FaithfulnessCheck, RandomisationCheck

#: the normalised scores the table shows (manifest metric -> column)
FAITHFULNESS_COLUMNS = {
    "normalised_deletion_auc": "deletion AUC / p (lower = more faithful)",
    "normalised_insertion_auc": "insertion AUC / p (higher)",
    "normalised_road_combined": "ROAD combined / p (higher)",
}
FAITHFULNESS_CAPTION = (
    "Normalised faithfulness: each image's score divided by p, its unperturbed target probability (the raw scores scale with the network's "
    "confidence). Deletion / insertion: the target probability as the most salient pixels are set to black / restored from black, area under the "
    "curve over the fraction of pixels; ROAD combined: the mean over 10-90 % of (LeRF - MoRF) / 2 with linearly imputed pixels (Rong et al. 2022). "
    "Each class weighs equally, as in the localisation scores beside them (per class the mean over its images of all folds, then the mean over "
    "the classes); n/a: an artifact written before the normalised scores (explain it again)."
)
LOCALISATION_BESIDE = ("mass_accuracy", "roc_auc")
FAILS = "fails the model-randomisation check"
PASSES = "passes"


def _fold_sets(analysis, method: str) -> dict[str, list]:
    """Per network: the method's sets as the sources gave them (the folds, or the one pooled set)."""
    chosen: dict[str, list] = {}
    for heatmap_set in analysis.sets:
        if heatmap_set.method == method and (heatmap_set.fold != POOLED or heatmap_set.manifest is not None):
            chosen.setdefault(heatmap_set.network, []).append(heatmap_set)
    return chosen


def _faithfulness(sets: list) -> list[FaithfulnessCheck]:
    """The faithfulness checks the sets' manifests carry."""
    return [s.manifest.faithfulness for s in sets if s.manifest is not None and s.manifest.faithfulness is not None]


def _randomisation(sets: list) -> RandomisationCheck | None:
    """The first randomisation check the sets' manifests carry, else None."""
    return next((s.manifest.randomisation for s in sets if s.manifest is not None and s.manifest.randomisation is not None), None)


def class_weighted(entries: list[FaithfulnessCheck], name: str) -> float:
    """The equal-class-weight mean of the normalised metric ``name`` over artifacts (folds) of
    one network: per class the mean over the images of all of them, then the mean over the
    classes with images; NaN when an artifact has no normalised scores."""
    if any(entry.normalised is None for entry in entries):
        return float("nan")
    classes = dict.fromkeys(c for entry in entries for c in entry.per_class)
    means = []
    for c in classes:
        parts = [(entry.per_class[c]["normalised_counts"], entry.per_class[c][name]) for entry in entries if c in entry.per_class]
        counts = np.array([count for count, _ in parts], np.float64)
        if counts.sum() > 0:
            means.append(float(np.sum([count * value for count, value in parts if count > 0]) / counts.sum()))
    return float(np.mean(means)) if means else float("nan")


def faithfulness_table(analysis, method: str, family: str) -> pd.DataFrame | None:
    """Network x (normalised deletion AUC, insertion AUC, ROAD combined, images) beside the
    pooled mean ``LOCALISATION_BESIDE`` scores against ``family``, every column weighing the
    classes equally (``class_weighted``). None when no artifact carries faithfulness."""
    rows = {}
    scores = analysis.scores[(analysis.scores.method == method) & (analysis.scores.fold == POOLED) & (analysis.scores.mask_family == family)]
    for network, sets in _fold_sets(analysis, method).items():
        entries = _faithfulness(sets)
        if not entries:
            continue
        row = {label: class_weighted(entries, name) for name, label in FAITHFULNESS_COLUMNS.items()}
        row["images"] = int(sum(entry.overall["counts"] for entry in entries))
        for metric in LOCALISATION_BESIDE:
            row[f"{metric} ({family})"] = float(scores[(scores.network == network) & (scores.metric == metric)].value.mean())
        rows[network] = row
    return pd.DataFrame.from_dict(rows, orient="index") if rows else None


def randomisation_table(analysis, method: str) -> pd.DataFrame | None:
    """Network x (layers, images, Spearman and SSIM with the fully randomised network's maps,
    the verdict): the check of each artifact (the first fold's when there are several)."""
    rows = {}
    for network, sets in _fold_sets(analysis, method).items():
        entry = _randomisation(sets)
        if entry is None:
            continue
        overall = entry.overall
        rows[network] = {
            "layers": len(entry.layers),
            "images": int(overall["counts"]),
            "Spearman, all layers randomised": entry.fully_randomised_spearman,
            "SSIM, all layers randomised": float(overall["cascading_ssim"][-1]),
            "Spearman, output layer alone": float(overall["independent_spearman"][0]),
            "verdict": FAILS if entry.fails else PASSES,
        }
    return pd.DataFrame.from_dict(rows, orient="index") if rows else None


def randomisation_curves(analysis, method: str) -> Figure | None:
    """Spearman with the trained maps against the share of layers randomised from the top
    (cascading), one line per network; None when no artifact carries the check."""
    curves = {}
    for network, sets in _fold_sets(analysis, method).items():
        entry = _randomisation(sets)
        if entry is not None:
            curves[network] = (np.asarray(entry.overall["cascading_spearman"], float), entry.threshold)
    if not curves:
        return None
    figure = Figure(figsize=(6.0, 3.6), layout="constrained")
    axis = figure.subplots()
    for network, (values, _) in curves.items():
        axis.plot(np.arange(1, len(values) + 1) / len(values), values, marker=".", linewidth=1.0, label=network)
    axis.axhline(next(iter(curves.values()))[1], color="tab:red", linestyle="--", linewidth=0.8, label="failure threshold")
    axis.set_xlabel("share of the layers randomised, from the output (cascading)", fontsize=8)
    axis.set_ylabel("Spearman r with the trained maps", fontsize=8)
    axis.set_ylim(-1.05, 1.05)
    axis.grid(linewidth=0.3, alpha=0.5)
    axis.tick_params(labelsize=7)
    axis.legend(fontsize=6)
    axis.set_title(f"{method}: model-parameter randomisation", fontsize=9)
    return figure


def sanity_text(table: pd.DataFrame) -> pd.DataFrame:
    """A sanity table as text: counts as integers, scores with four decimals, words as they are."""
    return table.map(lambda value: str(value) if isinstance(value, str | int | np.integer) else ("n/a" if value != value else f"{value:.4f}"))
