"""Which p-values are claims, and their family-wise false-discovery control.

The report's verdicts rest on one declared headline metric per mask family
(``StatisticsSettings.headline``). Every p-value of that metric that the report states as a
finding (the mask-label permutation test of each network and pooled, every network
difference, every difference of two architectures over their seeds, and the
pretrained-vs-scratch tests) enters one Benjamini-Hochberg adjustment
(``scipy.stats.false_discovery_control``) across methods, families and tables, so that the
expected share of false findings among everything the report calls significant is at most
``StatisticsSettings.fdr``. P-values of other metrics are exploratory: shown unadjusted,
``p_adjusted`` NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from ferlens.analysis.statistics.settings import StatisticsSettings

CLAIM_COLUMNS = ["table", "method", "mask_family", "metric", "claim", "p_value", "p_adjusted", "significant"]


def is_claim(frame: pd.DataFrame, settings: StatisticsSettings) -> np.ndarray:
    """bool [rows]: rows of a table with ``mask_family`` and ``metric`` columns whose metric is their family's headline."""
    if frame.empty:
        return np.zeros(0, bool)
    return np.array([metric == settings.headline_of(family) for family, metric in zip(frame.mask_family, frame.metric, strict=True)], bool)


def adjust_claims(tables: dict[str, tuple[pd.DataFrame, str, np.ndarray]], settings: StatisticsSettings) -> pd.DataFrame:
    """Add ``p_adjusted`` (in place) to each table of ``tables`` ({name: (frame, p-value
    column, bool [rows] which rows are claims)}) and return the ``CLAIM_COLUMNS`` list of
    every claim with its adjusted p-value."""
    parts = []
    for name, (frame, column, claims) in tables.items():
        frame["p_adjusted"] = np.nan
        chosen = frame[claims & frame[column].notna().to_numpy()] if len(frame) else frame
        for index, row in chosen.iterrows():
            parts.append((name, index, row.get("method", ""), row.get("mask_family", "-"), row.get("metric", "-"), _describe(name, row), float(row[column])))
    if not parts:
        return pd.DataFrame(columns=CLAIM_COLUMNS)
    p_values = np.array([part[-1] for part in parts])
    adjusted = false_discovery_control(np.clip(p_values, 0, 1))
    for (name, index, *_), value in zip(parts, adjusted, strict=True):
        tables[name][0].loc[index, "p_adjusted"] = value
    rows = [
        (name, method, family, metric, claim, p, a, bool(a <= settings.fdr))
        for (name, _, method, family, metric, claim, p), a in zip(parts, adjusted, strict=True)
    ]
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def _describe(table: str, row: pd.Series) -> str:
    """One line naming the claim of a table row."""
    if table == "permutation":
        return f"{row.network}: heatmaps match their own expression's masks"
    if table == "differences":
        return f"{row.network} - {row.other} ({row.comparison})"
    if table == "groups":
        return f"pretrained and scratch networks form two groups ({row.expression})"
    if table == "seeds":
        return f"{row.architecture} - {row.other} (over seeds)"
    return table
