"""The sanity checks as the report shows them: the faithfulness caption, the randomisation
curves, the tables as text (``analysis/sanity.py`` computes the tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ferlens.analysis.sanity import fold_sets, randomisation_check

FAITHFULNESS_CAPTION = (
    "Normalised faithfulness: each image's score divided by p, its unperturbed target probability (the raw scores scale with the network's "
    "confidence). Deletion / insertion: the target probability as the most salient pixels are set to black / restored from black, area under the "
    "curve over the fraction of pixels; ROAD combined: the mean over 10-90 % of (LeRF - MoRF) / 2 with linearly imputed pixels (Rong et al. 2022). "
    "Each class weighs equally, as in the localisation scores beside them (per class the mean over its images of all folds, then the mean over "
    "the classes); n/a: an artifact written before the normalised scores (explain it again)."
)


def randomisation_curves(analysis, method: str) -> Figure | None:
    """Spearman with the trained maps against the share of layers randomised from the top
    (cascading), one line per network; None when no artifact carries the check."""
    curves = {}
    for network, sets in fold_sets(analysis, method).items():
        entry = randomisation_check(sets)
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
