"""The region-importance part of a report (presentation only): the ``ImportanceAnalysis``
(``analysis.statistics.importance_analysis``) as ``importance/`` (CSV tables and
``importance.md``), ``figures/region_importance.png``, the sections ``summary.md`` ends with and one
section of report/index.html (``importance_section``, in ``sections.SECTIONS``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ferlens.analysis.report.page import Page
from ferlens.analysis.statistics.importance_analysis import ExplainerDependence, ImportanceAnalysis
from ferlens.analysis.statistics.region_importance import ImportanceResults, best_regions

if TYPE_CHECKING:
    from ferlens.analysis.report.sections import PageContext

NO_NETWORKS = (
    "Region importance by intervention needs the networks themselves; the study's published heatmaps (source=paper) come without them, so there is none here."
)
METHOD_NOTE = (
    "Each face region (Study 2's AU regions, the parts of Friesen & Ekman's masks) was imputed on every explained image "
    "(ROAD's noisy linear imputation); the drop of the target probability beyond that of same-size patches at random face "
    "positions is the region's importance (no saliency map involved)."
)
FIGURE = "region_importance.png"


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
    lines.append(f"{METHOD_NOTE} Codebook: {codebook}. Tables: importance/.")
    lines += ["", "| network | regions | statistic | null mean | p | adjusted p |", "|---|---|---|---|---|---|"]
    for row in results.codebook.itertuples():
        lines.append(
            f"| {row.network} | {row.family} ({row.codebook}) | {row.statistic:.4f} | {row.null_mean:.4f} | {row.p_value:.4f} | {row.p_adjusted:.4f} |"
        )
    best = best_regions(results.profile)
    if len(best):
        lines += [
            "",
            "Most important AU region per expression (largest excess beyond the region's importance for every expression: rank 1 in the "
            "double-centred matrix; * = one of the expression's own):",
            "",
        ]
        for network, rows in best.groupby("network", sort=False):
            cells = ", ".join(f"{r.expression} {r.region.split(':', 1)[1]}{'*' if r.own else ''}" for r in rows.itertuples())
            lines.append(f"- {network}: {cells} ({int(rows.own.sum())} of {len(rows)} own)")
    if len(results.groups):
        lines += ["", "| comparison | regions | estimate | interval |", "|---|---|---|---|"]
        lines += [f"| {r.comparison} | {r.family} | {r.estimate:.4f} | [{r.low:.4f}, {r.high:.4f}] |" for r in results.groups.itertuples()]
    lines += ["", *(f"- {note}" for note in results.notes)] if results.notes else []
    return "\n".join(lines) + "\n"


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
        lines += ["", *ordering_lines(dependence.flips)]
    return "\n".join(lines) + "\n"


def across_methods(dependence: ExplainerDependence | None, headline_of: Callable[[str], str], shown: int = 4) -> list[str]:
    """Per mask family, one sentence for the findings: which network orderings of the headline
    metric (``headline_of(family)``) hold with every saliency method and which flip with it
    (at most ``shown`` of each named); none with one method."""
    if dependence is None or not len(dependence.flips):
        return []
    sentences = []
    for family, rows in dependence.flips.groupby("mask_family", sort=False):
        metric = headline_of(family)
        chosen = rows[rows.metric == metric]
        if chosen.empty:
            continue
        parts = []
        for verdict, how in (("holds", "hold with every saliency method"), ("flips", "flip with the method")):
            picked = chosen[chosen.verdict == verdict]
            named = [_above(row) if verdict == "holds" else f"{row.network} vs {row.other}" for row in picked.head(shown).itertuples()]
            more = f" and {len(picked) - shown} more" if len(picked) > shown else ""
            parts.append(f"{len(picked)} {how}" + (f" ({'; '.join(named)}{more})" if named else ""))
        sentences.append(f"Across saliency methods ({family} masks, {metric}): of {len(chosen)} network orderings, {parts[0]}, {parts[1]}.")
    return sentences


def ordering_lines(flips: pd.DataFrame) -> list[str]:
    """Two lines: the network orderings of ``flips`` (``ranking_flips`` rows of every family and
    metric) that hold across every method, and those that flip with the method."""
    lines = []
    for verdict, how in (("holds", "hold across every method"), ("flips", "flip with the method")):
        chosen = flips[flips.verdict == verdict]
        lines.append(f"Network orderings that {how} ({len(chosen)}): " + ("; ".join(_ordering(r) for r in chosen.itertuples()) or "none") + ".")
    return lines


def _above(row) -> str:
    """``first above second``: the pair in the order most methods rank them."""
    first, second = (row.network, row.other) if row.share_of_methods_above >= 0.5 else (row.other, row.network)
    return f"{first} above {second}"


def _ordering(row) -> str:
    share = max(row.share_of_methods_above, 1 - row.share_of_methods_above)
    return f"{_above(row)} ({row.mask_family} {row.metric}, {share:.0%} of methods)"


def write_importance_report(importance: ImportanceAnalysis, directory: Path) -> str:
    """Write the region-importance part into the report ``directory``: the explainer
    dependence's and the statistics' tables under ``importance/`` and the figure; returns the
    sections ``summary.md`` ends with (for a source without networks, one sentence)."""
    tables, sections = directory / "importance", []
    if importance.dependence is not None:
        tables.mkdir(parents=True, exist_ok=True)
        for name in ("agreement", "variance", "fidelity", "flips"):
            getattr(importance.dependence, name).to_csv(tables / f"explainer_{name}.csv", index=False)
        sections.append(dependence_markdown(importance.dependence))
    if importance.without_networks:
        sections.append("## Region importance by intervention\n\n" + NO_NETWORKS + "\n")
    results = importance.results
    if results is not None:
        tables.mkdir(parents=True, exist_ok=True)
        results.profile.to_csv(tables / "profile.csv", index=False)
        results.codebook.to_csv(tables / "codebook_tests.csv", index=False)
        results.groups.to_csv(tables / "comparisons.csv", index=False)
        text = importance_markdown(results, importance.codebook)
        (tables / "importance.md").write_text(text)
        figures = directory / "figures"
        figures.mkdir(exist_ok=True)
        importance_figure(results).savefig(figures / FIGURE, dpi=110)
        sections.append(text)
    return "".join(f"\n{section}" for section in sections)


def _number(value: float, digits: int = 4) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


def codebook_table(results: ImportanceResults) -> pd.DataFrame:
    """The codebook tests, one row per network (and pooled) and region family."""
    table = results.codebook
    return pd.DataFrame(
        {
            "regions": [f"{r.family} ({r.codebook})" for r in table.itertuples()],
            "own - other regions": [_number(v) for v in table.statistic],
            "null mean": [_number(v) for v in table.null_mean],
            "p": [_number(v) for v in table.p_value],
            "adjusted p": [_number(v) for v in table.p_adjusted],
            "permutations": table.permutations.astype(int).to_numpy(),
        },
        index=table.network.to_numpy(),
    )


def best_region_table(results: ImportanceResults) -> pd.DataFrame:
    """Network x expression: the AU region of largest specific excess (``best_regions``; * one of the expression's own)."""
    best = best_regions(results.profile)
    if not len(best):
        return pd.DataFrame()
    cells = best.assign(cell=[f"{r.region.split(':', 1)[1]}{' *' if r.own else ''}" for r in best.itertuples()])
    table = cells.pivot(index="network", columns="expression", values="cell").reindex(index=list(dict.fromkeys(best.network)))
    return table.assign(own=[f"{int(rows.own.sum())} of {len(rows)}" for _, rows in best.groupby("network", sort=False)])


def groups_table(results: ImportanceResults) -> pd.DataFrame:
    """The comparisons (codebook statistic per network, network pairs, pretrained/scratch, guided/unguided) with intervals."""
    groups = results.groups
    return pd.DataFrame(
        {
            "regions": groups.family.to_numpy(),
            "estimate": [_number(v) for v in groups.estimate],
            "95 % interval": [f"[{_number(lo)}, {_number(hi)}]" for lo, hi in zip(groups.low, groups.high, strict=True)],
            "units": groups.units.to_numpy(),
        },
        index=groups.comparison.to_numpy(),
    )


def dependence_tables(dependence: ExplainerDependence) -> dict[str, pd.DataFrame]:
    """The explainer dependence as display tables: agreement, variance shares, fidelity (empty ones left out)."""
    agreement = pd.DataFrame(
        {
            "metric": dependence.agreement.metric.to_numpy(),
            "methods": dependence.agreement.methods.to_numpy(),
            "networks": dependence.agreement.networks.to_numpy(),
            "Kendall's W": [_number(v, 3) for v in dependence.agreement.kendalls_w],
            "chi2": [_number(v, 2) for v in dependence.agreement.chi2],
            "df": dependence.agreement.df.to_numpy(),
            "p": [_number(v) for v in dependence.agreement.p_value],
        },
        index=dependence.agreement.mask_family.to_numpy(),
    )
    tables = {"agreement": agreement}
    if len(dependence.variance):
        shares = dependence.variance.assign(row=dependence.variance.mask_family + " " + dependence.variance.metric)
        order = list(dict.fromkeys(shares.component))
        tables["variance"] = shares.pivot(index="row", columns="component", values="share")[order].map(lambda v: f"{v:.1%}")
    if len(dependence.fidelity):
        fidelity = dependence.fidelity
        tables["fidelity"] = pd.DataFrame(
            {
                "fidelity": [_number(v, 3) for v in fidelity.fidelity],
                "95 % interval": [f"[{_number(lo, 3)}, {_number(hi, 3)}]" for lo, hi in zip(fidelity.low, fidelity.high, strict=True)],
                "images": fidelity.images.to_numpy(),
            },
            index=fidelity.method.to_numpy(),
        )
    return tables


def importance_section(page: Page, context: PageContext) -> None:
    """The HTML section: the profile figure, the codebook tests with adjusted p, the most
    important region per expression, the comparisons, and how much the conclusions owe to the
    explainer; for a source without networks, the one sentence saying so; nothing without
    importance evidence or several methods."""
    importance = context.importance
    if importance is None or importance.empty:
        return
    page.heading("Region importance by intervention", identifier="importance")
    if importance.without_networks:
        page.paragraph(NO_NETWORKS, "caption")
    results = importance.results
    if results is not None:
        page.paragraph(f"{METHOD_NOTE} Codebook: {importance.codebook}. The tables are also in importance/.", "caption")
        page.image(
            context.figures / FIGURE,
            "Region importance by intervention: expressions by AU regions per network",
            "Per network, the drop of the target probability when each AU region is imputed, beyond same-size patches at random face positions "
            "(colour); a dot marks an interval wholly above 0, a box the expression's own codebook regions. Look for dots inside the boxes.",
        )
        page.table(
            codebook_table(results),
            "network",
            "Codebook test: do the expressions' own regions matter more than the others (double-centred mean excess, own minus other regions)? "
            "p: permutation of the region labels; adjusted: Benjamini-Hochberg over these tests.",
        )
        page.table(
            best_region_table(results),
            "network",
            "The most important AU region per expression: the largest excess beyond the region's importance for every expression (rank 1 in the "
            "double-centred matrix, as the codebook test); * one of the expression's own regions.",
        )
        page.table(groups_table(results), "comparison", "The codebook statistic per network and its differences, on the same paired replicates.")
        if results.notes:
            page.paragraph(" ".join(results.notes), "note")
    dependence = importance.dependence
    if dependence is not None:
        page.heading("How much the conclusions owe to the explainer", 3, identifier="explainer-dependence")
        tables = dependence_tables(dependence)
        page.table(tables["agreement"], "mask family", "Agreement of the saliency methods on the network ranking (Kendall's W with its chi2 test).")
        page.table(
            tables.get("variance"),
            "mask family, metric",
            "Share of the cell scores' variance (three-way random effects, method x network x expression; negative estimates set to 0).",
        )
        page.table(
            tables.get("fidelity"),
            "method",
            "Region fidelity: per image, Spearman of the heatmap's mass per region against the region's importance by intervention; mean and interval.",
        )
        if len(dependence.flips):
            page.bullets(ordering_lines(dependence.flips))
