"""The region-importance part of a report (presentation): finds each analyzed run's
``importance/<name>/`` evidence, computes ``analysis.statistics.region_importance`` and
``analysis.statistics.explainer_dependence``, and writes ``importance/`` (CSV tables and
``importance.md``), ``figures/region_importance.png`` and one section of ``summary.md``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ferlens.analysis.heatmap_set import POOLED
from ferlens.analysis.statistics.explainer_dependence import (
    AGREEMENT_COLUMNS,
    VARIANCE_COLUMNS,
    image_fidelity,
    network_agreement,
    ranking_flips,
    region_fidelity,
    region_mass,
    variance_components,
)
from ferlens.analysis.statistics.region_importance import ImportanceResults, ImportanceRun, compute_region_importance
from ferlens.datamodules.synthetic_aus import DISTINCT_PROTOTYPES
from ferlens.evaluation.region_importance.intervention import region_masks
from ferlens.faces.au import AU_CODEBOOK
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, template_points
from ferlens.formats.evidence import EVIDENCE_HEIGHT, EVIDENCE_WIDTH, pool_mask
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


@dataclass(frozen=True)
class ExplainerDependence:
    """The tables of ``analysis.statistics.explainer_dependence`` for one analysis."""

    agreement: pd.DataFrame
    variance: pd.DataFrame
    fidelity: pd.DataFrame
    flips: pd.DataFrame


def _run_importance(analysis: Analysis, name: str = IMPORTANCE_NAME) -> dict[str, object]:
    """{run directory: its importance evidence} of the analyzed per-fold sets."""
    found = {}
    for heatmap_set in analysis.sets:
        run = heatmap_set.manifest.run if heatmap_set.manifest is not None else None
        if run is not None and run.dir and run.dir not in found and (Path(run.dir) / "importance" / name / "manifest.json").is_file():
            found[run.dir] = read_importance(Path(run.dir) / "importance" / name)
    return found


def explainer_dependence(analysis: Analysis, settings) -> ExplainerDependence | None:
    """Agreement, variance decomposition and ranking flips of the methods' cell scores (the
    headline metric of each mask family, pooled sets where there are some), and per method the
    region fidelity of its heatmaps against the runs' region importance. None with one method."""
    if len(analysis.methods) < 2:
        return None
    scores = analysis.scores[analysis.scores.fold.astype(str) == POOLED] if (analysis.scores.fold.astype(str) == POOLED).any() else analysis.scores
    agreement, variance, flips = [], [], []
    for family in sorted(scores.mask_family.unique()):
        metric = settings.headline_of(family)
        row, table = network_agreement(scores, family, metric)
        agreement.append(row)
        if table.shape[0] >= 2 and table.shape[1] >= 2:
            flips.append(ranking_flips(table).assign(mask_family=family, metric=metric))
        chosen = scores[(scores.mask_family == family) & (scores.metric == metric)]
        cells = chosen.groupby(["method", "network", "expression"], as_index=False).value.mean().rename(columns={"value": "score"})
        complete = cells.pivot_table(index=["network", "expression"], columns="method", values="score").dropna()
        if complete.shape[1] >= 2 and all(complete.index.get_level_values(level).nunique() >= 2 for level in (0, 1)):
            kept = complete.stack().rename("score").reset_index()
            variance.append(variance_components(kept).assign(mask_family=family, metric=metric))
    fidelity = _fidelity(analysis, settings)
    return ExplainerDependence(
        pd.DataFrame(agreement, columns=AGREEMENT_COLUMNS),
        pd.concat(variance)[VARIANCE_COLUMNS] if variance else pd.DataFrame(columns=VARIANCE_COLUMNS),
        fidelity,
        pd.concat(flips) if flips else pd.DataFrame(),
    )


def _fidelity(analysis: Analysis, settings) -> pd.DataFrame:
    """Per method: the per-image Spearman of heatmap mass per region (evidence grid) and the
    region's excess importance, over the images both passes share (same run, same source index)."""
    importance = _run_importance(analysis)
    if not importance:
        return pd.DataFrame()
    regions = next(iter(importance.values())).regions
    masks = region_masks(regions, template_points()[:68], TEMPLATE_HEIGHT, TEMPLATE_WIDTH)
    grid = np.stack([pool_mask(mask) for mask in masks])  # [R, 55, 56]
    per_method: dict[str, list[np.ndarray]] = {}
    for heatmap_set in analysis.sets:
        run = heatmap_set.manifest.run if heatmap_set.manifest is not None else None
        if run is None or run.dir not in importance or heatmap_set.evidence is None:
            continue
        evidence, found = heatmap_set.evidence, importance[run.dir]
        where = {int(index): i for i, index in enumerate(found.index)}
        shared = [(i, where[int(index)]) for i, index in enumerate(evidence.index) if int(index) in where]
        if not shared:
            continue
        rows, matched = (np.array(part) for part in zip(*shared, strict=True))
        maps = evidence.values(rows).reshape(len(rows), EVIDENCE_HEIGHT, EVIDENCE_WIDTH)
        per_method.setdefault(heatmap_set.method, []).append(image_fidelity(region_mass(maps, grid), found.excess[matched]))
    joined = {method: np.concatenate(parts) for method, parts in per_method.items()}
    return region_fidelity(joined, settings.resamples, settings.confidence, settings.seed)


def dependence_markdown(dependence: ExplainerDependence) -> str:
    """The summary section on how much the conclusions owe to the explainer."""
    lines = ["## How much the conclusions owe to the explainer", ""]
    lines += ["| mask family | metric | methods | networks | Kendall's W | chi2 | df | p |", "|---|---|---|---|---|---|---|---|"]
    lines += [
        f"| {r.mask_family} | {r.metric} | {r.methods} | {r.networks} | {r.kendalls_w:.3f} | {r.chi2:.2f} | {r.df} | {r.p_value:.4f} |"
        for r in dependence.agreement.itertuples()
    ]
    if len(dependence.variance):
        lines += ["", "Share of the cell scores' variance (three-way random effects, method x network x expression; negative estimates set to 0):", ""]
        for (family, metric), rows in dependence.variance.groupby(["mask_family", "metric"], sort=False):
            lines.append(f"- {family} {metric}: " + ", ".join(f"{r.component} {r.share:.1%}" for r in rows.itertuples()))
    if len(dependence.fidelity):
        lines += [
            "",
            "Region fidelity (per image, Spearman of heatmap mass per region against the region's importance by intervention; mean and interval):",
            "",
        ]
        lines += [f"- {r.method}: {r.fidelity:.3f} [{r.low:.3f}, {r.high:.3f}] over {r.images} images" for r in dependence.fidelity.itertuples()]
    if len(dependence.flips):
        holds = dependence.flips[dependence.flips.verdict == "holds"]
        flips = dependence.flips[dependence.flips.verdict == "flips"]
        lines += [
            "",
            f"Network orderings that hold across every method ({len(holds)}): " + ("; ".join(_ordering(r) for r in holds.itertuples()) or "none") + ".",
        ]
        lines += [f"Network orderings that flip with the method ({len(flips)}): " + ("; ".join(_ordering(r) for r in flips.itertuples()) or "none") + "."]
    return "\n".join(lines) + "\n"


def _ordering(row) -> str:
    first, second = (row.network, row.other) if row.share_of_methods_above >= 0.5 else (row.other, row.network)
    share = max(row.share_of_methods_above, 1 - row.share_of_methods_above)
    return f"{first} above {second} ({row.mask_family} {row.metric}, {share:.0%} of methods)"


def write_importance_report(analysis: Analysis, directory: Path, settings, source_kind: str, codebook: str = "study") -> ImportanceResults | None:
    """Compute and write the region-importance part into the report ``directory``; append its
    section (or, without evidence, one sentence) to ``summary.md``. None when nothing was found."""
    summary = directory / "summary.md"
    dependence = explainer_dependence(analysis, settings)
    if dependence is not None:
        tables = directory / "importance"
        tables.mkdir(parents=True, exist_ok=True)
        for name in ("agreement", "variance", "fidelity", "flips"):
            getattr(dependence, name).to_csv(tables / f"explainer_{name}.csv", index=False)
        summary.write_text(summary.read_text() + "\n" + dependence_markdown(dependence))
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
