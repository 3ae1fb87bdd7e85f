"""The region-importance part of a report (presentation): finds each analyzed run's
``importance/<name>/`` evidence, computes ``analysis.statistics.region_importance`` and
``analysis.statistics.explainer_dependence``, and writes ``importance/`` (CSV tables and
``importance.md``), ``figures/region_importance.png`` and one section of ``summary.md``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ferlens.analysis.statistics.region_importance import ImportanceResults, ImportanceRun, compute_region_importance
from ferlens.datamodules.synthetic_aus import DISTINCT_PROTOTYPES
from ferlens.faces.au import AU_CODEBOOK
from ferlens.formats.importance_evidence import read_importance

if TYPE_CHECKING:
    from ferlens.analysis.pipeline import Analysis

IMPORTANCE_NAME = "au_regions"
#: the codebooks an expression's own AU regions come from: Study 2's, or the generating AUs of
#: the distinct-prototype synthetic faces (``data.source.prototypes=distinct``, known truth)
CODEBOOKS = {
    "study": dict(AU_CODEBOOK),
    "distinct": {name: tuple(au for alternative in aus for au in alternative) for name, aus in DISTINCT_PROTOTYPES.items()},
}
NO_NETWORKS = (
    "Region importance by intervention needs the networks themselves; the study's published heatmaps (source=paper) come without them, so there is none here."
)


def importance_runs(analysis: Analysis, name: str = IMPORTANCE_NAME) -> list[ImportanceRun]:
    """One ``ImportanceRun`` per analyzed run directory holding ``importance/<name>/`` (the
    per-fold sets' runs; each run once whatever its methods)."""
    runs, seen = [], set()
    for heatmap_set in analysis.sets:
        run = heatmap_set.manifest.run if heatmap_set.manifest is not None else None
        if run is None or not run.dir:
            continue
        directory = Path(run.dir) / "importance" / name
        if directory in seen or not (directory / "manifest.json").is_file():
            continue
        seen.add(directory)
        guided = bool(run.au_guidance) and float(run.au_guidance) > 0
        runs.append(ImportanceRun(heatmap_set.network, str(heatmap_set.fold), run.dataset or "", bool(run.pretrained), guided, read_importance(directory)))
    return runs


def importance_figure(results: ImportanceResults, family: str = "au") -> Figure:
    """Per network: expressions x regions of the ``family``, the mean excess drop (colour),
    significant cells marked with a dot, the codebook's own regions outlined."""
    profile = results.profile[results.profile.family == family]
    networks = list(dict.fromkeys(profile.network))
    figure = Figure(figsize=(1.2 + 0.42 * profile.region.nunique(), 0.6 + 2.4 * len(networks)), layout="constrained")
    axes = np.atleast_1d(figure.subplots(len(networks), 1, squeeze=False)[:, 0])
    for axis, network in zip(axes, networks, strict=True):
        rows = profile[profile.network == network]
        table = rows.pivot(index="expression", columns="region", values="excess")
        regions, expressions = list(dict.fromkeys(rows.region)), list(dict.fromkeys(rows.expression))
        table = table.loc[expressions, regions]
        limit = float(np.nanmax(np.abs(table.to_numpy()))) or 1.0
        image = axis.imshow(table.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        for (e, expression), (r, region) in ((pair, other) for pair in enumerate(expressions) for other in enumerate(regions)):
            cell = rows[(rows.expression == expression) & (rows.region == region)].iloc[0]
            if cell.own:
                axis.add_patch(_box(r, e))
            if cell.significant:
                axis.plot(r, e, "k.", markersize=5)
        axis.set_xticks(range(len(regions)), [r.split(":", 1)[1] for r in regions], rotation=60, ha="right", fontsize=7)
        axis.set_yticks(range(len(expressions)), expressions, fontsize=8)
        axis.set_title(f"{network}: drop beyond area-matched controls (dot: interval above 0; box: codebook region)", fontsize=8)
        figure.colorbar(image, ax=axis, shrink=0.8, label="excess probability drop")
    return figure


def _box(column: int, row: int):
    from matplotlib.patches import Rectangle

    return Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.2)


def importance_markdown(results: ImportanceResults, codebook: str) -> str:
    """The summary section: codebook tests, own region best per expression, comparisons, notes."""
    lines = ["## Region importance by intervention", ""]
    lines.append(
        "Each face region (Study 2's AU regions, the parts of Friesen & Ekman's masks) was imputed on every explained image "
        "(ROAD's noisy linear imputation); the drop of the target probability beyond that of same-size patches at random face "
        f"positions is the region's importance (no saliency map involved). Codebook: {codebook}. Tables: importance/."
    )
    lines += ["", "| network | regions | statistic | null mean | p | adjusted p |", "|---|---|---|---|---|---|"]
    for row in results.codebook.itertuples():
        lines.append(
            f"| {row.network} | {row.family} ({row.codebook}) | {row.statistic:.4f} | {row.null_mean:.4f} | {row.p_value:.4f} | {row.p_adjusted:.4f} |"
        )
    best = _own_best(results.profile)
    if len(best):
        lines += ["", "Most important AU region per expression (largest excess; * = one of the expression's own):", ""]
        for network, rows in best.groupby("network", sort=False):
            cells = ", ".join(f"{r.expression} {r.region.split(':', 1)[1]}{'*' if r.own else ''}" for r in rows.itertuples())
            lines.append(f"- {network}: {cells} ({int(rows.own.sum())} of {len(rows)} own)")
    if len(results.groups):
        lines += ["", "| comparison | regions | estimate | interval |", "|---|---|---|---|"]
        lines += [f"| {r.comparison} | {r.family} | {r.estimate:.4f} | [{r.low:.4f}, {r.high:.4f}] |" for r in results.groups.itertuples()]
    lines += [f"- {note}" for note in results.notes]
    return "\n".join(lines) + "\n"


def _own_best(profile: pd.DataFrame) -> pd.DataFrame:
    """Per network and expression with own AU regions, the AU region of largest excess."""
    rows = profile[(profile.family == "au") & profile.excess.notna()]
    owning = rows.groupby(["network", "expression"]).own.transform("any")
    rows = rows[owning]
    return rows.loc[rows.groupby(["network", "expression"], sort=False).excess.idxmax()] if len(rows) else rows


def write_importance_report(analysis: Analysis, directory: Path, settings, source_kind: str, codebook: str = "study") -> ImportanceResults | None:
    """Compute and write the region-importance part into the report ``directory``; append its
    section (or, without evidence, one sentence) to ``summary.md``. None when nothing was found."""
    summary = directory / "summary.md"
    runs = importance_runs(analysis)
    if not runs:
        if source_kind == "paper":
            summary.write_text(summary.read_text() + "\n## Region importance by intervention\n\n" + NO_NETWORKS + "\n")
        return None
    results = compute_region_importance(
        runs, CODEBOOKS[codebook], settings.resamples, settings.permutations, settings.confidence, settings.interval, settings.resample, settings.seed
    )
    tables = directory / "importance"
    tables.mkdir(parents=True, exist_ok=True)
    results.profile.to_csv(tables / "profile.csv", index=False)
    results.codebook.to_csv(tables / "codebook_tests.csv", index=False)
    results.groups.to_csv(tables / "comparisons.csv", index=False)
    text = importance_markdown(results, codebook)
    (tables / "importance.md").write_text(text)
    figures = directory / "figures"
    figures.mkdir(exist_ok=True)
    importance_figure(results).savefig(figures / "region_importance.png", dpi=110)
    summary.write_text(summary.read_text() + "\n" + text)
    return results
