"""The sanity checks the heatmap artifacts carry (``callbacks/sanity.py``), per method and
network, as tables beside the localisation scores: faithfulness (deletion / insertion AUC,
ROAD) and the model-parameter randomisation check (Spearman with the fully randomised
network's maps, the verdict); ``analysis/report/sanity_report.py`` presents them.

Faithfulness is compared across networks on the normalised scores (each image's score divided
by its unperturbed target probability, ``evaluation.faithfulness.curves``): the raw AUCs scale with a
network's confidence. A network's value weighs its classes equally, as its localisation
scores do: per class the image-weighted mean over its artifacts (folds), then the mean over
its classes with images. The raw scores stay in the manifests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferlens.analysis.heatmap_set import POOLED
from ferlens.formats.manifest import FaithfulnessCheck, RandomisationCheck

#: the normalised scores the table shows (manifest metric -> column)
FAITHFULNESS_COLUMNS = {
    "normalised_deletion_auc": "deletion AUC / p (lower = more faithful)",
    "normalised_insertion_auc": "insertion AUC / p (higher)",
    "normalised_road_combined": "ROAD combined / p (higher)",
}
LOCALISATION_BESIDE = ("mass_accuracy", "roc_auc")
FAILS = "fails the model-randomisation check"
PASSES = "passes"


def fold_sets(analysis, method: str) -> dict[str, list]:
    """Per network: the method's sets as the sources gave them (the folds, or the one pooled set)."""
    chosen: dict[str, list] = {}
    for heatmap_set in analysis.sets:
        if heatmap_set.method == method and (heatmap_set.fold != POOLED or heatmap_set.manifest is not None):
            chosen.setdefault(heatmap_set.network, []).append(heatmap_set)
    return chosen


def _faithfulness(sets: list) -> list[FaithfulnessCheck]:
    """The faithfulness checks the sets' manifests carry."""
    return [s.manifest.faithfulness for s in sets if s.manifest is not None and s.manifest.faithfulness is not None]


def randomisation_check(sets: list) -> RandomisationCheck | None:
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
    for network, sets in fold_sets(analysis, method).items():
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
    for network, sets in fold_sets(analysis, method).items():
        entry = randomisation_check(sets)
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
