"""The statistics as display tables (strings), shared by summary.md and report/index.html.

Every table says what it rests on: the interval method and level, the resampling unit, the
baselines' definitions, the permutation counts. Each builder returns a DataFrame whose index
is the row label and whose cells are text; ``None`` when there is nothing to show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferlens.analysis.aggregate import network_table
from ferlens.analysis.heatmap_set import POOLED
from ferlens.analysis.statistics import ALL_EXPRESSIONS, GRAND_MEAN, Statistics
from ferlens.analysis.statistics.baselines import CENTRE_BIAS, FACE_PRIOR, RANDOM_WEIGHTS, UNIFORM_FACE
from ferlens.analysis.statistics.specificity import POOLED_NETWORKS
from ferlens.formats.evidence import NO_EVIDENCE

#: the metrics summary.md shows with their statistics (report/index.html shows every metric)
STATISTICS_METRICS = ("iou", "mass_accuracy", "rank_accuracy", "roc_auc")
MISSING = "n/a"


def number(value: float, digits: int = 3, signed: bool = False) -> str:
    """A score as text; NaN is ``MISSING``."""
    if value is None or not np.isfinite(value):
        return MISSING
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def with_interval(value: float, low: float, high: float, signed: bool = False) -> str:
    """``0.310 [0.279, 0.338]``, or the value alone when the interval is not known."""
    if not np.isfinite(low) or not np.isfinite(high):
        return number(value, signed=signed)
    return f"{number(value, signed=signed)} [{number(low, signed=signed)}, {number(high, signed=signed)}]"


def share(value: float) -> str:
    return MISSING if not np.isfinite(value) else f"{100 * value:.0f} %"


INTERVAL_NAMES = {
    "debiased": "debiased expanded-percentile", "bca": "BCa", "expanded": "expanded-percentile", "percentile": "percentile", "basic": "basic",
}  # fmt: skip


def interval_note(statistics: Statistics, method: str) -> str:
    """One sentence: how the intervals of ``method`` were made, and which variation each covers."""
    settings = statistics.settings
    cells = statistics.cells[statistics.cells.method == method]
    means = statistics.means[statistics.means.method == method]
    levels = sorted({level for level in means.level if level != "none"}) if "level" in means else []
    expressions = f"'over expressions' is a t-interval over the expressions (df = expressions - 1); levels of the network means: {'; '.join(levels) or 'none'}"
    if cells.empty:
        return f"No per-image evidence, so no interval per cell; {expressions}"
    unit = next(iter(sorted(set(cells.unit))))
    return (
        f"Intervals [low, high]: {settings.confidence:.0%} {INTERVAL_NAMES[settings.interval]} bootstrap, {settings.resamples} paired replicates "
        f"(the {unit} drawn once per replicate for every network and class, within folds; seed {settings.seed}), "
        f"computed on the 55x56 evidence grid and centred on the full-resolution score; cells cover the {unit} with the trained models fixed; {expressions}"
    )


def headline_tables(statistics: Statistics, scores: pd.DataFrame, method: str, family: str, metric: str) -> dict[str, pd.DataFrame] | None:
    """Three network x expression tables of one (method, family, metric), or None:

    - ``scores``: each score with its interval, the network mean with its interval over
      images and over expressions, the share of resamples in which it ranks first (over images
      / over expressions), and the grand mean;
    - ``alignment``: the headline specific alignment, score - face-prior score, with its interval;
    - ``baselines``: each network's face prior, the centre-bias Gaussian, the uniform face and
      any random-weights model.
    """
    table = network_table(scores, metric, family, method, POOLED)
    if table.empty:
        return None
    expressions = [column for column in table.columns if column != "mean"]
    networks = [name for name in table.index if name != "mean"]
    cells = _select(statistics.cells, method, family, metric).set_index(["network", "expression"])
    means = _select(statistics.means, method, family, metric).set_index("network")
    baselines = statistics.baselines[(statistics.baselines.mask_family == family) & (statistics.baselines.metric == metric)]
    score_rows, alignment_rows, baseline_rows = {}, {}, {}
    for network in networks:
        mean = means.loc[network] if network in means.index else None
        row = [_cell(table.loc[network, e], cells, (network, e), "ci_low", "ci_high") for e in expressions]
        value = table.loc[network, "mean"]
        if mean is None:
            row += [number(value), MISSING, MISSING]
        else:
            row += [
                with_interval(value, mean.ci_low, mean.ci_high),
                with_interval(value, mean.expressions_ci_low, mean.expressions_ci_high),
                share(mean.first_share),
            ]
        score_rows[network] = row
        prior = baselines[(baselines.baseline == FACE_PRIOR) & (baselines.network == network) & (baselines.method == method)].set_index("expression")["value"]
        if prior.empty:
            continue
        baseline_rows[f"{network}: {FACE_PRIOR}"] = [number(prior.get(e, np.nan)) for e in expressions] + [number(prior.reindex(expressions).mean())]
        aligned = [_cell(table.loc[network, e] - prior.get(e, np.nan), cells, (network, e), "alignment_ci_low", "alignment_ci_high", True) for e in expressions]
        mean_alignment = table.loc[network, expressions].astype(float).sub(prior.reindex(expressions)).mean()
        interval = (mean.alignment_ci_low, mean.alignment_ci_high) if mean is not None else (np.nan, np.nan)
        alignment_rows[network] = aligned + [with_interval(mean_alignment, *interval, signed=True)]
    grand = means.loc[GRAND_MEAN] if GRAND_MEAN in means.index else None
    grand_value = table.loc["mean", "mean"]
    score_rows[GRAND_MEAN] = [""] * len(expressions) + [
        with_interval(grand_value, grand.ci_low, grand.ci_high) if grand is not None else number(grand_value),
        "",
        "",
    ]
    for name in (CENTRE_BIAS, UNIFORM_FACE):
        values = baselines[baselines.baseline == name].set_index("expression")["value"]
        baseline_rows[name] = [number(values.get(e, np.nan)) for e in expressions] + [number(values.reindex(expressions).mean())]
    for network, group in baselines[(baselines.baseline == RANDOM_WEIGHTS) & (baselines.method == method)].groupby("network", sort=False):
        values = group.set_index("expression")["value"].reindex(expressions)
        shared = [e for e in expressions if np.isfinite(values.get(e, np.nan)) and network in table.index and np.isfinite(table.loc[network, e])]
        mean = (
            f"{number(values[shared].mean())} ({len(shared)} shared: {number(table.loc[network, shared].astype(float).mean())} trained)" if shared else MISSING
        )
        baseline_rows[f"{network}: {RANDOM_WEIGHTS}"] = [number(values.get(e, np.nan)) for e in expressions] + [mean]
    columns = [*expressions, "mean"]
    return {
        "scores": pd.DataFrame.from_dict(score_rows, orient="index", columns=[*expressions, "mean, CI", "over expressions (t)", "ranks first"]),
        "alignment": pd.DataFrame.from_dict(alignment_rows, orient="index", columns=columns),
        "baselines": pd.DataFrame.from_dict(baseline_rows, orient="index", columns=columns),
    }


#: what each of ``headline_tables`` shows, for headings
HEADLINE_PARTS = {
    "scores": "scores with 95 % intervals",
    "alignment": "specific alignment: score - face-prior score (the headline)",
    "baselines": "baselines: the same metric for maps that know nothing of the expression (a random-weights mean: over the classes both have)",
}


def _select(frame: pd.DataFrame, method: str, family: str, metric: str) -> pd.DataFrame:
    return frame[(frame.method == method) & (frame.mask_family == family) & (frame.metric == metric)]


def _cell(value: float, cells: pd.DataFrame, key: tuple[str, str], low: str, high: str, signed: bool = False) -> str:
    """A cell's value with its interval from ``cells`` (indexed by network, expression) when it has one."""
    if key not in cells.index:
        return number(value, signed=signed)
    cell = cells.loc[key]
    return with_interval(value, cell[low], cell[high], signed)


def specificity_table(statistics: Statistics, method: str, family: str, metric: str) -> pd.DataFrame | None:
    """Network x expression: ``matched (mean other, max other) #rank``, then the permutation
    p-value of the network (exact over every assignment of the masks) and the pooled one."""
    chosen = statistics.specificity[
        (statistics.specificity.method == method) & (statistics.specificity.mask_family == family) & (statistics.specificity.metric == metric)
    ]
    if chosen.empty:
        return None
    tests = statistics.permutation[
        (statistics.permutation.method == method) & (statistics.permutation.mask_family == family) & (statistics.permutation.metric == metric)
    ].set_index("network")
    expressions = list(dict.fromkeys(chosen.expression))
    rows = {}
    for network, group in chosen.groupby("network", sort=False):
        by = group.set_index("expression")
        cells = [
            f"{number(by.loc[e, 'matched'])} ({number(by.loc[e, 'mean_other'])}, {number(by.loc[e, 'max_other'])}) #{by.loc[e, 'rank']:g}"
            if e in by.index
            else MISSING
            for e in expressions
        ]
        first = int((group["rank"] == 1).sum())
        rows[network] = [*cells, f"{first}/{len(group)}", _p_value(tests, network)]
    if POOLED_NETWORKS in tests.index:
        total = int((chosen["rank"] == 1).sum())
        rows[POOLED_NETWORKS] = [""] * len(expressions) + [f"{total}/{len(chosen)}", _p_value(tests, POOLED_NETWORKS)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[*expressions, "own mask best", "permutation p"])


def _p_value(tests: pd.DataFrame, network: str) -> str:
    """``p (exact, 720; adjusted 0.0123)`` for a claim, ``p (exact, 720; exploratory)`` for a metric that is not the headline."""
    if network not in tests.index:
        return MISSING
    test = tests.loc[network]
    how = "exact" if test.exact else "Monte Carlo"
    return f"{test.p_value:.4f} ({how}, {int(test.permutations)}; {adjusted_text(test.get('p_adjusted', np.nan))})"


def adjusted_text(p_adjusted: float) -> str:
    """``adjusted 0.0123`` (FDR over every claim of the report), or ``exploratory`` for a p that is no claim."""
    return f"adjusted {p_adjusted:.4f}" if p_adjusted is not None and np.isfinite(p_adjusted) else "exploratory"


def reliability_table(statistics: Statistics, method: str) -> pd.DataFrame | None:
    """Network x expression: the split-half reliability (Spearman-Brown) of the whole map /
    of its class-specific pattern (map - leave-one-class-out prior), with the units it rests
    on; a whole map below the threshold marked "(low)"."""
    chosen = statistics.reliability[statistics.reliability.method == method]
    if chosen.empty:
        return None
    threshold = statistics.settings.reliability_threshold
    expressions = list(dict.fromkeys(chosen.expression))
    rows = {}
    for network, group in chosen.groupby("network", sort=False):
        by = group.set_index("expression")
        rows[network] = [
            f"{number(by.loc[e, 'reliability'])}{' (low)' if by.loc[e, 'reliability'] < threshold else ''} / {number(by.loc[e, 'specific_reliability'])} "
            f"({by.loc[e, 'units']} {by.loc[e, 'unit']})"
            if e in by.index
            else MISSING
            for e in expressions
        ]
    return pd.DataFrame.from_dict(rows, orient="index", columns=expressions)


def cluster_table(statistics: Statistics, method: str) -> pd.DataFrame | None:
    """Expression x linkage: the top two clusters with their bootstrap probabilities."""
    chosen = statistics.trees
    keys = [key for key in chosen if key[0] == method]
    if not keys:
        return None
    expressions = list(dict.fromkeys(key[1] for key in keys))
    linkages = list(dict.fromkeys(key[2] for key in keys))
    rows = {}
    for expression in expressions:
        row = []
        for name in linkages:
            tree = chosen.get((method, expression, name))
            row.append(_top_two(tree) if tree is not None else MISSING)
        rows[expression] = row
    return pd.DataFrame.from_dict(rows, orient="index", columns=linkages)


def _top_two(tree) -> str:
    """The two clusters below the root, each with its BP: ``{a, b} 94 % vs {c, d, e} 88 %``
    (no ``|``, which would split a markdown cell)."""
    n = len(tree.labels)
    members = [frozenset([i]) for i in range(n)]
    for left, right, _, _ in tree.linkage:
        members.append(members[int(left)] | members[int(right)])
    left, right = int(tree.linkage[-1, 0]), int(tree.linkage[-1, 1])
    parts = []
    for node in (left, right):
        names = "{" + ", ".join(sorted(tree.labels[i] for i in members[node])) + "}"
        support = "" if node < n else f" {share(tree.bp[node - n])}"
        parts.append(names + support)
    return " vs ".join(parts)


def groups_table(statistics: Statistics, method: str) -> pd.DataFrame | None:
    """Expression: mean distance within and between the pretrained and from-scratch groups, and the permutation p-value."""
    chosen = statistics.groups[statistics.groups.method == method]
    if chosen.empty:
        return None
    rows = {}
    for row in chosen.itertuples():
        how = "exact" if row.exact else "Monte Carlo"
        label = "all expressions" if row.expression == ALL_EXPRESSIONS else row.expression
        rows[label] = [
            f"{row.pretrained} of {row.networks}",
            number(row.within),
            number(row.between),
            number(row.difference, signed=True),
            f"{row.p_value:.4f} ({how}, {row.permutations}; {adjusted_text(row.p_adjusted)})",
        ]
    return pd.DataFrame.from_dict(rows, orient="index", columns=["pretrained", "within (1 - r)", "between (1 - r)", "between - within", "permutation p"])


def difference_table(statistics: Statistics, method: str, family: str, metric: str) -> pd.DataFrame | None:
    """One row per pair of networks: the mean difference over the classes both have, score
    and specific alignment, each with its paired interval and p, and the level it covers."""
    chosen = _select(statistics.differences, method, family, metric)
    if chosen.empty:
        return None
    rows = {}
    for row in chosen.itertuples():
        label = f"{row.network} - {row.other}" + (f" ({row.comparison})" if row.comparison != "pair" else "")
        p = MISSING if not np.isfinite(row.p_value) else f"{row.p_value:.4f} ({adjusted_text(row.p_adjusted)})"
        rows[label] = [
            with_interval(row.difference, row.ci_low, row.ci_high, signed=True),
            p,
            with_interval(row.alignment_difference, row.alignment_ci_low, row.alignment_ci_high, signed=True),
            f"{row.classes}",
            row.level,
        ]
    return pd.DataFrame.from_dict(rows, orient="index", columns=["difference, CI", "p", "specific alignment difference, CI", "classes", "covers"])


def fold_mean_table(statistics: Statistics, method: str, family: str, metric: str) -> pd.DataFrame | None:
    """Network: the mean over folds of its mean score over expressions (the study's aggregation), SD and t-interval over folds."""
    chosen = _select(statistics.fold_means, method, family, metric)
    if chosen.empty:
        return None
    rows = {row.network: [with_interval(row.mean, row.ci_low, row.ci_high), number(row.sd), f"{row.folds}"] for row in chosen.itertuples()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["mean over folds, t-interval", "SD over folds", "folds"])


def seed_mean_table(statistics: Statistics, method: str, family: str, metric: str) -> pd.DataFrame | None:
    """Architecture (or difference of two): the mean over seeds with its interval (training and
    faces, ``analysis.statistics.seeds``), the two standard errors and the seeds behind it."""
    chosen = _select(statistics.seeds, method, family, metric)
    if chosen.empty:
        return None
    rows = {
        (row.architecture if not row.other else f"{row.architecture} - {row.other}"): [
            with_interval(row.value, row.ci_low, row.ci_high, signed=bool(row.other)), f"{row.seeds_se:.2g}", f"{row.faces_se:.2g}",
            f"{row.df:.1f}" if row.df < 10 else f"{row.df:.0f}", row.seeds, "" if not row.other else f"{row.p_value:.4f} ({adjusted_text(row.p_adjusted)})",
        ]
        for row in chosen.itertuples()
    }  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index", columns=["mean over seeds, interval", "SE training", "SE faces", "df", "seeds", "p"])


def spread_table(statistics: Statistics, method: str, family: str, metric: str) -> pd.DataFrame | None:
    """Network x expression: the mean over folds ± the SD over folds (ddof = 1) with the fold count."""
    chosen = statistics.fold_spread
    if chosen.empty:
        return None
    chosen = chosen[(chosen.method == method) & (chosen.mask_family == family) & (chosen.metric == metric)]
    if chosen.empty:
        return None
    expressions = list(dict.fromkeys(chosen.expression))
    rows = {}
    for network, group in chosen.groupby("network", sort=False):
        by = group.set_index("expression")
        rows[network] = [
            f"{number(by.loc[e, 'mean'])} ± {number(by.loc[e, 'sd'])} ({by.loc[e, 'folds']} folds)" if e in by.index else MISSING for e in expressions
        ]
    return pd.DataFrame.from_dict(rows, orient="index", columns=expressions)


def notes(statistics: Statistics) -> list[str]:
    """What the statistics could not give, and why (e.g. ``NO_EVIDENCE``), each one sentence."""
    return list(statistics.notes)


__all__ = [
    "NO_EVIDENCE", "STATISTICS_METRICS", "headline_tables", "specificity_table", "reliability_table", "cluster_table", "groups_table", "spread_table",
    "difference_table", "fold_mean_table", "seed_mean_table",
]  # fmt: skip
