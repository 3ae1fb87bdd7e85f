"""The findings in words and as a verdict table: one code for summary.md, report/index.html
and the console's end lines (``analysis/findings.py`` computes them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ferlens.analysis.findings import RANDOM_MAPS, Estimate, MethodFindings, Test, Verdict
from ferlens.analysis.report.statistics_tables import MISSING, number, with_interval

#: the sections of report/index.html a verdict links to: kind -> what the section holds
ANCHORS = {
    "runs": "the runs analysed",
    "specificity": "the mask-label permutation tests",
    "alignment": "the scores, their face priors and the specific alignment",
    "reliability": "the split-half reliability",
    "randomisation": "the model-parameter randomisation check",
    "faithfulness": "the faithfulness scores",
    "differences": "the paired network differences",
}
FAMILY_NAMES = {"ekman": "Ekman", "au": "AU"}
METRIC_NAMES = {
    "iou": "IoU", "f1": "F1", "precision": "precision", "recall": "recall", "ncc": "NCC", "cosine": "cosine", "mass_accuracy": "mass accuracy",
    "rank_accuracy": "rank accuracy", "pointing_game": "pointing game", "roc_auc": "ROC-AUC",
}  # fmt: skip


def anchor(kind: str, method: str) -> str:
    """The id of the report section behind a verdict of ``kind`` (``ANCHORS``) for ``method``."""
    return f"{kind}-{method}"


def family_name(family: str) -> str:
    return FAMILY_NAMES.get(family, family)


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric)


def _p(test: Test) -> str:
    return f"adjusted p = {test.p_adjusted:.3f}" if np.isfinite(test.p_adjusted) else "not a claim"


def _interval(estimate: Estimate) -> str:
    return with_interval(estimate.value, estimate.low, estimate.high, signed=True)


def specific_word(test: Test, alpha: float) -> str:
    return {True: "yes", False: "no", None: "not tested"}[test.significant(alpha)]


def prior_word(alignment: Estimate) -> str:
    return {1: "yes", 0: "cannot tell", -1: "no, below", None: "no interval"}[alignment.sign]


def reliable_word(verdict: Verdict, threshold: float) -> str:
    return {True: "yes", False: "no", None: "not measured"}[verdict.reliable(threshold)]


def randomisation_word(verdict: Verdict) -> str:
    return {True: "passes", False: "fails", None: "not run"}[verdict.randomisation]


def faithful_word(verdict: Verdict) -> str:
    if verdict.faithfulness is None:
        return "not measured"
    return {True: "yes", False: "no", None: "no random-map reference"}[verdict.faithfulness.faithful]


def thresholds(findings: MethodFindings) -> str:
    """The thresholds the verdicts use, in one clause."""
    parts = [
        f"specific: Benjamini-Hochberg adjusted p < {findings.alpha:g} over every claim of the report",
        "above the face prior: the 95 % interval of the specific alignment (score - face-prior score) lies above 0",
        f"reliable: split-half reliability >= {findings.reliability_threshold:g} for every expression",
    ]
    if findings.randomisation_threshold is not None:
        parts.append(f"randomisation passed: mean Spearman with the fully randomised network's maps <= {findings.randomisation_threshold:g}")
    parts.append(f"faithful: deletion AUC lower and ROAD higher than the same network's {RANDOM_MAPS} maps")
    return "; ".join(parts)


def _family_sentence_one(verdict: Verdict, family: str, metric: str, alpha: float) -> str:
    test, alignment = verdict.specificity[family], verdict.alignment[family]
    where = f"{family_name(family)} masks ({metric_name(metric)})"
    specific = {
        True: f"the maps are specific to the expression ({_p(test)})",
        False: f"the maps are not specific to the expression ({_p(test)})",
        None: "specificity was not tested",
    }[test.significant(alpha)]
    prior = {
        1: f"the specific alignment {_interval(alignment)} is above the face prior",
        0: f"the specific alignment {_interval(alignment)} cannot be told from the face prior",
        -1: f"the specific alignment {_interval(alignment)} is below the face prior",
        None: f"the specific alignment {number(alignment.value, signed=True)} has no interval (no per-image evidence)",
    }[alignment.sign]
    return f"{where}: {specific}; {prior}."


def _names(networks: list[str]) -> str:
    return ", ".join(networks) if networks else "none"


def _family_sentence_many(findings: MethodFindings, family: str, metric: str) -> str:
    verdicts = findings.verdicts
    specific = [v.network for v in verdicts if v.specificity[family].significant(findings.alpha)]
    tested = [v for v in verdicts if np.isfinite(v.specificity[family].p_adjusted)]
    where = f"{family_name(family)} masks ({metric_name(metric)})"
    if tested:
        best = min(tested, key=lambda v: v.specificity[family].p_adjusted)
        smallest = f"smallest {_p(best.specificity[family])}, {best.network}"
        if specific:
            text = f"{where}: {len(specific)} of {len(verdicts)} networks have maps specific to the expression ({_names(specific)}; {smallest})"
        else:
            text = f"{where}: none of the {len(verdicts)} networks has maps specific to the expression ({smallest})"
    else:
        text = f"{where}: specificity was not tested"
    pooled = findings.pooled.get(family)
    if pooled is not None and np.isfinite(pooled.p_adjusted):
        text += f"; all networks together: {'specific' if pooled.significant(findings.alpha) else 'not specific'} ({_p(pooled)})"
    signs = {v.network: v.alignment[family].sign for v in verdicts}
    if all(sign is None for sign in signs.values()):
        text += "; above the face prior: not judged (no per-image evidence, so no interval)"
    else:
        above = [network for network, sign in signs.items() if sign == 1]
        unclear = [network for network, sign in signs.items() if sign == 0]
        text += f"; above the face prior: {_names(above)} (cannot tell: {_names(unclear)})"
    steps = findings.ranking.get(family, [])
    if steps:
        score = {v.network: v.score[family] for v in verdicts}
        first, last = steps[0].first, steps[-1].second
        step = steps[0]
        told = step.difference.sign == 1
        text += (
            f"; ranking by mean {metric_name(metric)}: {first} {number(score[first].value)} first, {last} {number(score[last].value)} last; "
            f"{first} - {step.second} = {_interval(step.difference)}, "
            + ("a difference the interval can tell" if told else "which the interval cannot tell from 0" if step.difference.has_interval else "no interval")
        )
    return text + "."


def _checks_sentence(findings: MethodFindings) -> str:
    verdicts = findings.verdicts
    words = []
    reliable = {v.network: v.reliable(findings.reliability_threshold) for v in verdicts}
    if all(value is None for value in reliable.values()):
        words.append("reliability was not measured (no per-image evidence)")
    elif len(verdicts) == 1:
        verdict = verdicts[0]
        state = "reliable" if reliable[verdict.network] else "not reliable"
        words.append(f"the maps are {state} (lowest split-half {number(verdict.reliability)}, bar {findings.reliability_threshold:g})")
    else:
        low = [network for network, value in reliable.items() if value is False]
        words.append(f"{sum(1 for value in reliable.values() if value)} of {len(verdicts)} networks' maps are reliable (below the bar: {_names(low)})")
    passes = {v.network: v.randomisation for v in verdicts}
    if all(value is None for value in passes.values()):
        words.append("the randomisation check was not run (+sanity=mprt runs it)")
    elif len(verdicts) == 1:
        words.append("they pass the randomisation check" if passes[verdicts[0].network] else "they fail the randomisation check")
    else:
        failed = [network for network, value in passes.items() if value is False]
        words.append(f"{sum(1 for value in passes.values() if value)} of {len(verdicts)} pass the randomisation check (fail: {_names(failed)})")
    faithful = {v.network: (None if v.faithfulness is None else v.faithfulness.faithful) for v in verdicts}
    if all(v.faithfulness is None for v in verdicts):
        words.append("faithfulness was not measured")
    elif all(value is None for value in faithful.values()):
        words.append(f"faithfulness has no random-map reference (explain with {RANDOM_MAPS} too)")
    else:
        yes = [network for network, value in faithful.items() if value]
        words.append(f"faithful beyond random maps: {_names(yes)}")
    text = "; ".join(words)
    return text[0].upper() + text[1:] + "."


def paragraph(findings: MethodFindings) -> str:
    """The findings of one method in a short paragraph, from the numbers."""
    head = f"{findings.method} ({findings.split})"
    sentences = []
    for family, metric in findings.metrics.items():
        if len(findings.verdicts) == 1:
            sentences.append(_family_sentence_one(findings.verdicts[0], family, metric, findings.alpha))
        else:
            sentences.append(_family_sentence_many(findings, family, metric))
    count = f"{len(findings.verdicts)} networks" if len(findings.verdicts) != 1 else f"network {findings.verdicts[0].network}"
    return f"{head}, {count}. " + " ".join(sentences) + " " + _checks_sentence(findings)


@dataclass(frozen=True)
class VerdictTable:
    """One row per network: ``table`` (text cells, the network as index); per column the
    ``kind`` of section it links to (``ANCHORS``) and a ``tip`` (the technical name)."""

    table: pd.DataFrame
    kinds: dict[str, str]
    tips: dict[str, str]


def verdict_table(findings: MethodFindings) -> VerdictTable:
    """The verdicts of ``findings`` as a table (text cells)."""
    columns: dict[str, list[str]] = {}
    kinds, tips = {}, {}

    def add(name: str, kind: str, tip: str, cells: list[str]) -> None:
        columns[name], kinds[name], tips[name] = cells, kind, tip

    verdicts = findings.verdicts
    if any(np.isfinite(v.accuracy) for v in verdicts):
        add("accuracy", "runs", "validation accuracy of the weights explained (weights.val_acc; mean over folds)", [number(v.accuracy) for v in verdicts])
    for family, metric in findings.metrics.items():
        name = family_name(family)
        add(
            f"specific? {name}",
            "specificity",
            f"mask-label permutation test of {metric}, Benjamini-Hochberg adjusted p < {findings.alpha:g}",
            [f"{specific_word(v.specificity[family], findings.alpha)} ({_p(v.specificity[family])})" for v in verdicts],
        )
        add(
            f"above face prior? {name}",
            "alignment",
            f"network mean of {metric} - leave-one-class-out face prior, 95 % interval above 0",
            [f"{prior_word(v.alignment[family])} ({_interval(v.alignment[family])})" for v in verdicts],
        )
    add(
        "reliable?",
        "reliability",
        f"lowest split-half reliability (Spearman-Brown) over expressions >= {findings.reliability_threshold:g}",
        [f"{reliable_word(v, findings.reliability_threshold)}" + (f" ({number(v.reliability)})" if np.isfinite(v.reliability) else "") for v in verdicts],
    )
    add("passes randomisation?", "randomisation", "model-parameter randomisation check (Adebayo et al. 2018)", [randomisation_word(v) for v in verdicts])
    add(
        "faithful?",
        "faithfulness",
        f"normalised deletion AUC lower and ROAD higher than {RANDOM_MAPS} maps",
        [faithful_word(v) for v in verdicts],
    )
    for family, metric in findings.metrics.items():
        steps = findings.ranking.get(family)
        if not steps:
            continue
        order = [steps[0].first] + [step.second for step in steps]
        next_step = {step.first: step for step in steps}
        cells = []
        for v in verdicts:
            if v.network not in order:
                cells.append(MISSING)
                continue
            step = next_step.get(v.network)
            to_next = f"; vs next {_interval(step.difference)}" if step is not None else ""
            cells.append(f"{order.index(v.network) + 1} of {len(order)} ({number(v.score[family].value)}{to_next})")
        add(
            f"rank {family_name(family)}",
            "differences",
            f"rank by network mean {metric}; paired difference to the next network with its interval",
            cells,
        )
    table = pd.DataFrame(columns, index=[v.network for v in verdicts])
    return VerdictTable(table, kinds, tips)


def console_lines(all_findings: list[MethodFindings]) -> list[str]:
    """The console's end lines: each method's paragraph."""
    return [f"Findings: {paragraph(findings)}" for findings in all_findings]


def findings_markdown(all_findings: list[MethodFindings]) -> list[str]:
    """summary.md's findings section: per method the paragraph, the thresholds and the verdict table."""
    from ferlens.analysis.report.statistics_report import markdown

    lines = ["## Findings", ""]
    for findings in all_findings:
        verdicts = verdict_table(findings)
        lines += [f"### {findings.method}", "", paragraph(findings), "", f"Thresholds: {thresholds(findings)}.", "", markdown(verdicts.table, "network"), ""]
    return lines
