"""report/index.html, answer first: the findings (a paragraph and a verdict table per method),
then per method one section per question with the figures and tables that answer it, the
runs, an appendix of every other metric (folded) and how the report was made.

The page is a list of sections (``SECTIONS``, each a function of the page and the
``PageContext``): a new part of the report adds its function to the list.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ferlens.analysis.findings import MethodFindings
from ferlens.analysis.heatmap_set import POOLED
from ferlens.analysis.report.findings_text import ANCHORS, anchor, family_name, metric_name, paragraph, thresholds, verdict_table
from ferlens.analysis.report.importance import across_methods, importance_section
from ferlens.analysis.report.page import Page, slug, table_html
from ferlens.analysis.report.sanity_report import FAITHFULNESS_CAPTION, sanity_text
from ferlens.analysis.report.statistics_report import (
    BASELINE_NOTE,
    CLUSTER_CAPTION,
    DIFFERENCE_CAPTION,
    FOLD_CAPTION,
    GROUPS_CAPTION,
    RANDOMISATION_CAPTION,
    RELIABILITY_CAPTION,
    SEED_CAPTION,
    SPECIFICITY_CAPTION,
)
from ferlens.analysis.report.statistics_tables import (
    HEADLINE_PARTS,
    MISSING,
    cluster_table,
    difference_table,
    fold_mean_table,
    groups_table,
    headline_tables,
    interval_note,
    number,
    reliability_table,
    seed_mean_table,
    specificity_table,
    spread_table,
)
from ferlens.analysis.sanity import faithfulness_table, randomisation_table
from ferlens.analysis.statistics import Statistics
from ferlens.analysis.statistics.importance_analysis import ImportanceAnalysis
from ferlens.evaluation.localisation.scores import METRICS


@dataclass
class PageContext:
    """What the sections show: the analysis, its statistics (None: ``statistics.enabled=false``),
    the study's tables ((method, family, metric, aggregation) -> network x expression), the
    findings, the report's ``directory`` (figures under ``figures/``), its description and
    the ``run`` (command, config) that made it."""

    analysis: object
    statistics: Statistics | None
    summary_tables: dict
    answers: list[MethodFindings]
    directory: Path
    description: dict[str, str]
    run: dict[str, str] = field(default_factory=dict)
    importance: ImportanceAnalysis | None = None

    @property
    def figures(self) -> Path:
        return self.directory / "figures"

    def headline(self, family: str) -> str:
        return self.statistics.settings.headline_of(family) if self.statistics is not None else "iou"


def findings_section(page: Page, context: PageContext) -> None:
    """The answers: per method a paragraph, the thresholds, and the verdict table whose cells link to the evidence."""
    page.heading("Findings", identifier="findings")
    if not context.answers:
        page.paragraph("No findings: the statistics were not computed (statistics.enabled=false); the study's tables are in the appendix.", "note")
    for answers in context.answers:
        page.raw(f'<p class="finding">{html.escape(paragraph(answers))}</p>')
        verdicts = verdict_table(answers)
        links = {column: anchor(kind, answers.method) for column, kind in verdicts.kinds.items()}
        tips = {**verdicts.tips, "network": "the network's label in the analysis"}
        page.raw(table_html(verdicts.table, "network", f"verdicts-{slug(answers.method)}", tips, links, kind="verdicts"))
        page.paragraph(f"Thresholds: {thresholds(answers)}. Each verdict links to the table behind it.", "caption")
    if context.importance is not None and context.statistics is not None:
        for sentence in across_methods(context.importance.dependence, context.statistics.settings.headline_of):
            page.raw(f'<p class="finding">{html.escape(sentence)} <a href="#explainer-dependence">How much each conclusion owes to the explainer</a>.</p>')
    for text in _warnings(context):
        page.paragraph(text, "note")


def _warnings(context: PageContext) -> list[str]:
    analysis = context.analysis
    pooled = [
        f"{s.network} · {s.method}: pooled maps are the {s.pooling}" for s in analysis.sets if s.fold == POOLED and s.pooling and "not the study" in s.pooling
    ]
    return [*pooled, *(context.statistics.notes if context.statistics is not None else [])]


def alignment_section(page: Page, context: PageContext, method: str) -> None:
    """Is the map more than generic face-looking? The forest plots of the specific alignment, the headline figure and tables."""
    analysis, statistics = context.analysis, context.statistics
    if statistics is None:
        return
    page.heading(f"{method}: is it more than looking at a face?", identifier=anchor("alignment", method))
    page.paragraph(interval_note(statistics, method) + ". " + BASELINE_NOTE.format(sigma=statistics.settings.centre_sigma), "caption")
    for family in analysis.families:
        metric = context.headline(family)
        name = f"{family_name(family)} masks, {metric_name(metric)}"
        page.image(
            context.figures / f"forest__{method}__{family}.png",
            f"Forest plot of the specific alignment ({name}) per network and expression for {method}",
            f"Specific alignment ({name}): the score minus the network's own face prior, per expression and as the network mean, with 95 % "
            "intervals (none where the source has no per-image evidence). Look for whiskers wholly right of the dashed zero line: "
            "only there does the map find the expression's region more than a generic face map would.",
        )
        page.image(
            context.figures / f"headline__{method}__{family}.png",
            f"{metric_name(metric)} per network and expression with intervals for {method} ({family_name(family)} masks)",
            f"The study's headline table as a plot ({name}): each score with its 95 % interval where per-image evidence exists; the last panel "
            "is the network mean (interval over the faces, else the t-interval over the expressions). Look at the spread of the whiskers before "
            "reading any ranking.",
        )
        tables = headline_tables(statistics, analysis.scores, method, family, metric) or {}
        for part, table in tables.items():
            page.table(table, "network", summary=f"{name}: {HEADLINE_PARTS[part]}", open_=part != "baselines")
        page.table(fold_mean_table(statistics, method, family, metric), "network", FOLD_CAPTION, summary=f"{name}: means over folds")
        page.table(seed_mean_table(statistics, method, family, metric), "architecture", SEED_CAPTION, summary=f"{name}: means over seeds")


def specificity_section(page: Page, context: PageContext, method: str) -> None:
    """Does the map look where the expression is? The specificity matrices and the mask-label tests of the headline metric."""
    analysis, statistics = context.analysis, context.statistics
    if statistics is None:
        return
    page.heading(f"{method}: does it look where the expression is?", identifier=anchor("specificity", method))
    page.paragraph(SPECIFICITY_CAPTION, "caption")
    for family in analysis.families:
        metric = context.headline(family)
        page.image(
            context.figures / f"specificity__{method}__{family}.png",
            f"Specificity matrices of {method} maps against the {family_name(family)} masks ({metric_name(metric)})",
            "Each matrix: rows the maps, columns the masks. Look for the diagonal: a map specific to its expression scores best against its "
            "own expression's mask (the adjusted p of the mask-label test is in each title).",
        )
        page.table(specificity_table(statistics, method, family, metric), "network", summary=f"{family_name(family)} masks, {metric_name(metric)}: specificity")


def certainty_section(page: Page, context: PageContext, method: str) -> None:
    """How sure are we? Reliability (with the heatmap grid), randomisation and faithfulness."""
    analysis, statistics = context.analysis, context.statistics
    page.heading(f"{method}: how sure are we?", identifier=anchor("reliability", method))
    threshold = statistics.settings.reliability_threshold if statistics is not None else 0.8
    page.image(
        context.figures / f"heatmaps__{method}.png",
        f"Global heatmaps of {method}: networks by expression over the template face",
        f"The global heatmaps (rows: networks, columns: expressions), each with the images behind it; a red frame marks a map whose split-half "
        f"reliability is below {threshold:g}. Look for maps that would look different with other images.",
    )
    if statistics is not None:
        page.table(reliability_table(statistics, method), "network", RELIABILITY_CAPTION.format(t=threshold))
    family = next(iter(analysis.families))
    faithful, randomised = faithfulness_table(analysis, method, family), randomisation_table(analysis, method)
    page.heading(f"{method}: do the maps depend on the trained weights?", 3, identifier=anchor("randomisation", method))
    if randomised is None:
        page.paragraph("Not run: the artifacts carry no model-parameter randomisation check (+sanity=mprt runs it).", "caption")
    else:
        page.image(
            context.figures / f"randomisation__{method}.png",
            f"Model-parameter randomisation curves of {method}",
            "Spearman r between the trained network's maps and those with its layers randomised from the output down. Look for curves that "
            "fall below the dashed line: maps that do not change when the weights are destroyed do not explain the model.",
        )
        page.table(sanity_text(randomised), "network", RANDOMISATION_CAPTION)
    page.heading(f"{method}: do the maps point at what the model uses?", 3, identifier=anchor("faithfulness", method))
    if faithful is None:
        page.paragraph("Not measured: the artifacts carry no faithfulness scores.", "caption")
    else:
        table = faithful.copy()
        reference = faithfulness_table(analysis, "random_cam", family) if "random_cam" in analysis.methods and method != "random_cam" else None
        if reference is not None:
            for column in [c for c in table.columns if "/ p" in c]:
                table[f"random maps: {column.split(' /')[0]}"] = reference[column].reindex(table.index)
        else:
            page.paragraph("No random-map reference beside these numbers: explain the same runs with random_cam too to get one.", "caption")
        page.table(sanity_text(table), "network", FAITHFULNESS_CAPTION)


def differences_section(page: Page, context: PageContext, method: str) -> None:
    """Do the networks differ? The network-difference plot and table, the dendrograms with their bootstrap values."""
    analysis, statistics = context.analysis, context.statistics
    page.heading(f"{method}: do the networks differ?", identifier=anchor("differences", method))
    networks = [s.network for s in analysis.pooled(method)]
    if len(networks) < 2:
        page.paragraph(f"Network differences and dendrograms need at least two networks; this report has one ({', '.join(networks)}).", "caption")
        return
    if statistics is None:
        page.image(context.figures / f"dendrograms__{method}.png", f"Dendrograms of {method}", "Average-linkage trees of 1 - r between the networks' maps.")
        return
    for family in analysis.families:
        metric = context.headline(family)
        page.image(
            context.figures / f"differences__{method}__{family}.png",
            f"Paired network differences of {metric_name(metric)} for {method} ({family_name(family)} masks)",
            "Every pair of networks: the mean difference of the headline score with its 95 % interval. Look for whiskers that do not cross the "
            "dashed zero line: only those pairs can be told apart.",
        )
        page.table(
            difference_table(statistics, method, family, metric), "first - second", DIFFERENCE_CAPTION, summary=f"{family_name(family)} masks: differences"
        )
    page.heading(f"{method}: dendrograms and cluster stability", 3)
    for linkage_name in statistics.settings.linkages:
        page.image(
            context.figures / f"dendrograms__{method}__{linkage_name}.png",
            f"Dendrograms of {method} ({linkage_name} linkage) with bootstrap probabilities",
            f"{linkage_name.capitalize()}-linkage trees of 1 - r between the networks' maps, each merge with the share of bootstrap trees that "
            "contain it. Look for high values before reading a grouping.",
        )
    page.table(cluster_table(statistics, method), "expression", CLUSTER_CAPTION)
    page.table(groups_table(statistics, method), "expression", GROUPS_CAPTION)


def method_sections(page: Page, context: PageContext) -> None:
    """Per method: the questions in the order the findings ask them."""
    for method in context.analysis.methods:
        for section in METHOD_SECTIONS:
            section(page, context, method)


def runs_section(page: Page, context: PageContext) -> None:
    """What was analysed: the description and per network its weights' validation accuracy."""
    analysis = context.analysis
    page.heading("The runs analysed", identifier="runs")
    for method in analysis.methods:
        page.raw(f'<span id="{anchor("runs", method)}"></span>')
    page.bullets([f"{key}: {value}" for key, value in context.description.items()])
    accuracy = {(verdict.network, answers.method): verdict.accuracy for answers in context.answers for verdict in answers.verdicts}
    sets = {(s.network, s.method): s for s in analysis.sets if s.fold == POOLED}
    table = pd.DataFrame(
        {
            "pretrained": ["yes" if sets[key].pretrained else "no" if sets[key].pretrained is False else "not recorded" for key in sets],
            "validation accuracy": [number(accuracy[key]) if key in accuracy else MISSING for key in sets],
            "split explained": [analysis.split_of(key[1]) for key in sets],
        },
        index=[f"{network} · {method}" for network, method in sets],
    )
    page.table(table, "network · method", "Validation accuracy of the weights explained (mean over folds), from the heatmap manifests.")


def appendix_section(page: Page, context: PageContext) -> None:
    """Every other metric, grouped by metric, folded."""
    analysis, statistics = context.analysis, context.statistics
    page.heading("Appendix: every metric", identifier="appendix")
    page.paragraph("The same tables for every metric the report computes, folded; the headline metric is in the sections above.", "caption")
    for metric in METRICS:
        parts = []
        for method in analysis.methods:
            for family in analysis.families:
                if statistics is not None:
                    for part, table in (headline_tables(statistics, analysis.scores, method, family, metric) or {}).items():
                        parts.append((f"{method} · {family_name(family)} masks · {HEADLINE_PARTS[part]}", table, "network"))
                    table = specificity_table(statistics, method, family, metric)
                    if table is not None:
                        parts.append((f"{method} · {family_name(family)} masks · specificity", table, "network"))
                    table = spread_table(statistics, method, family, metric)
                    if table is not None:
                        parts.append((f"{method} · {family_name(family)} masks · fold spread (mean ± SD over folds)", table, "network"))
                else:
                    for (m, f, name, aggregation), table in context.summary_tables.items():
                        if (m, f, name) == (method, family, metric):
                            parts.append(
                                (f"{method} · {family_name(family)} masks · {aggregation}", table.map(lambda v: "n/a" if v != v else f"{v:.4f}"), "network")
                            )
        if not parts:
            continue
        inner = "".join(
            f"<h4>{html.escape(title)}</h4>" + table_html(table, first, slug(f"appendix-{metric}-{i}")) for i, (title, table, first) in enumerate(parts)
        )
        page.raw(f'<details id="appendix-{metric}"><summary>{html.escape(metric_name(metric))} ({metric})</summary>{inner}</details>')


def provenance_section(page: Page, context: PageContext) -> None:
    page.heading("How this report was made", identifier="made")
    page.paragraph("Command:")
    page.code(context.run.get("command", ""))
    page.paragraph("Composed configuration:")
    page.code(context.run.get("config", ""))


#: the questions asked of each method, in order
METHOD_SECTIONS: list[Callable[[Page, PageContext, str], None]] = [alignment_section, specificity_section, certainty_section, differences_section]
#: the page, top to bottom
SECTIONS: list[Callable[[Page, PageContext], None]] = [
    findings_section, method_sections, importance_section, runs_section, appendix_section, provenance_section,
]  # fmt: skip


def write_html(context: PageContext, title: str) -> Path:
    """report/index.html of ``context``, made of ``SECTIONS``."""
    page = Page(title)
    for section in SECTIONS:
        section(page, context)
    return page.write(context.directory / "report" / "index.html")


__all__ = ["ANCHORS", "PageContext", "SECTIONS", "METHOD_SECTIONS", "write_html"]
