"""Region importance by intervention, per network and expression (compute only).

The evidence (``formats.importance_evidence``) gives, for every explained image and face
region, the drop of the target class' probability when the region is imputed, and the mean
drop over same-size control patches at random face positions. A region's **excess** is its
drop minus its control's: what it matters beyond any patch of its size. All statistics here
are on the excess of the probability (the logit's is in the profile table beside it).

- ``importance_profile``: per network, expression and region, the mean drop, control drop and
  excess over the expression's images, with a bootstrap interval of the excess; the
  replicates draw the units (subjects, else images; ``analysis.statistics.design``) once for
  every network and expression (paired resampling, as the heatmap statistics). A cell is
  *significant* when the interval of its excess lies above 0.
- ``codebook_tests``: do an expression's own regions (its codebook AUs' regions; its Friesen
  & Ekman mask's parts) matter more than the others? Statistic: on the double-centred
  [expression x region] matrix of mean excess (``specificity.double_centred``: a region that
  matters for every expression does not count), the mean over expressions of (mean over own
  regions - mean over the other regions). Null: the region labels are exchangeable; a Monte
  Carlo permutation of the regions (the same for every expression, keeping the codebook's
  structure). Per network, and pooled over networks (each network's labels permuted
  independently, the statistic their mean); Benjamini-Hochberg adjusted over all tests.
- comparisons (the ``groups`` table): the codebook statistic per network with its bootstrap
  interval, the difference of every pair of networks, and the differences pretrained -
  scratch and AU-guided - unguided of the group means, all on the same paired replicates.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from ferlens.analysis.statistics.design import Cell, ResamplingDesign
from ferlens.analysis.statistics.intervals import bootstrap_intervals
from ferlens.analysis.statistics.specificity import double_centred
from ferlens.evaluation.region_importance.intervention import own_regions
from ferlens.formats.importance_evidence import ImportanceEvidence

PROFILE_COLUMNS = [
    "network", "expression", "region", "family", "own", "images", "units",
    "drop", "control_drop", "excess", "low", "high", "significant", "logit_drop", "logit_excess",
]  # fmt: skip
CODEBOOK_COLUMNS = ["network", "family", "codebook", "expressions", "regions", "statistic", "null_mean", "p_value", "p_adjusted", "permutations"]
GROUP_COLUMNS = ["comparison", "family", "estimate", "low", "high", "units"]
POOLED = "all networks"
#: the interval methods that need no jackknife (``bca`` falls back to ``debiased``)
_NO_JACKKNIFE = ("expanded", "debiased", "percentile", "basic")


@dataclass(frozen=True)
class ImportanceRun:
    """One run's region-importance evidence, named as the analysis names its network."""

    network: str
    fold: str
    dataset: str
    pretrained: bool
    guided: bool
    evidence: ImportanceEvidence


@dataclass(frozen=True)
class ImportanceResults:
    """The tables of the region-importance statistics (``*_COLUMNS``) and their notes."""

    profile: pd.DataFrame
    codebook: pd.DataFrame
    groups: pd.DataFrame
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Networks:
    """The runs pooled per network: names, the design (one ``Cell`` per network and expression,
    ``values`` [n, R] excess), the regions and classes."""

    names: list[str]
    runs: dict[str, list[ImportanceRun]]
    design: ResamplingDesign
    regions: tuple[str, ...]
    classes: list[str]


def _pool(runs: Sequence[ImportanceRun], unit: str) -> _Networks:
    """The runs' images per network and expression, on units named (dataset, fold, subject or
    image) across networks, drawn within (dataset, fold) strata (images: and true class)."""
    regions, classes = runs[0].evidence.regions, runs[0].evidence.classes
    if any(run.evidence.regions != regions or run.evidence.classes != classes for run in runs):
        raise ValueError("region-importance runs with different regions or classes cannot be pooled: run the pass with the same settings")
    subjects = unit in ("auto", "subjects") and all((run.evidence.subject != "").all() for run in runs)
    names: dict[tuple, int] = {}
    strata: dict[tuple, int] = {}
    stratum_of, fold_of = [], []
    by_network: dict[str, list[ImportanceRun]] = {}
    for run in runs:
        by_network.setdefault(run.network, []).append(run)
    cells = []
    for n, network_runs in enumerate(by_network.values()):
        values, ids, targets = [], [], []
        for run in network_runs:
            evidence = run.evidence
            for i in range(len(evidence.index)):
                who = str(evidence.subject[i]) if subjects else int(evidence.index[i])
                key = (run.dataset, run.fold, who)
                if key not in names:
                    names[key] = len(names)
                    where = (run.dataset, run.fold) if subjects else (run.dataset, run.fold, int(evidence.label[i]))
                    stratum_of.append(strata.setdefault(where, len(strata)))
                    fold_of.append(run.fold)
                ids.append(names[key])
            values.append(evidence.excess)
            targets.append(evidence.target)
        values_all, ids_all, targets_all = np.concatenate(values), np.array(ids, np.int64), np.concatenate(targets)
        for c in range(len(classes)):
            rows = np.flatnonzero(targets_all == c)
            if len(rows):
                cells.append(Cell(n, c, values_all[rows], ids_all[rows], len(np.unique(ids_all[rows]))))
    design = ResamplingDesign("subjects" if subjects else "images", np.array(stratum_of, np.int64), np.array(fold_of, dtype=str), cells)
    return _Networks(list(by_network), by_network, design, regions, classes)


def _replicate_means(cell: Cell, counts: np.ndarray) -> np.ndarray:
    """[B, R]: the cell's mean excess under each replicate's unit counts [B, U] (NaN-aware per region)."""
    weights = counts[:, cell.units].astype(np.float64)  # [B, n]
    finite = np.isfinite(cell.values)
    sums = weights @ np.where(finite, cell.values, 0.0)
    totals = weights @ finite.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, sums / totals, np.nan)


def _own_matrix(names: tuple[str, ...], classes: list[str], codebook: Mapping[str, Sequence[int]]) -> np.ndarray:
    """bool [C, R]: each expression's own regions (no region for a class outside the codebook)."""
    return np.stack([own_regions(names, c, codebook.get(c, ())) if c in codebook else np.zeros(len(names), bool) for c in classes])


def _codebook_statistic(matrix: np.ndarray, own: np.ndarray) -> float:
    """Mean over expressions with own and other regions of (own - others) on the double-centred
    ``matrix``; NaN with fewer than two expressions scored."""
    scored = np.isfinite(matrix).any(axis=1)  # expressions without images are left out
    if scored.sum() < 2:  # one expression: double-centring leaves nothing to compare
        return float("nan")
    own = own[scored]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # regions outside every image, expressions whose own regions all are
        centred = double_centred(matrix[scored])
        gaps = np.array([np.nanmean(centred[e, own[e]]) - np.nanmean(centred[e, ~own[e]]) for e in range(len(own)) if own[e].any() and (~own[e]).any()])
    gaps = gaps[np.isfinite(gaps)]
    return float(np.mean(gaps)) if len(gaps) else float("nan")


def compute_region_importance(
    runs: Sequence[ImportanceRun],
    codebook: Mapping[str, Sequence[int]],
    resamples: int = 2000,
    permutations: int = 9999,
    confidence: float = 0.95,
    interval: str = "debiased",
    unit: str = "auto",
    seed: int = 0,
) -> ImportanceResults:
    """The profile, the codebook tests and the group comparisons of ``runs`` (module docstring);
    ``codebook`` maps each expression to its AUs (Study 2's, or the generating AUs of a
    known-truth data set)."""
    pooled = _pool(runs, unit)
    rng = np.random.default_rng(seed)
    counts = pooled.design.draw(resamples, rng)
    method = interval if interval in _NO_JACKKNIFE else "debiased"
    families = sorted({name.split(":", 1)[0] for name in pooled.regions})
    family_of = np.array([name.split(":", 1)[0] for name in pooled.regions])
    own = _own_matrix(pooled.regions, pooled.classes, codebook)
    fixed_own = _own_matrix(pooled.regions, pooled.classes, {c: () for c in pooled.classes})  # Ekman parts and class regions: no codebook
    own = np.where(family_of[None] == "au", own, fixed_own)
    profile_rows = []
    matrices = {}  # network -> ([C, R] mean excess, [B, C, R] replicates)
    for n, network in enumerate(pooled.names):
        evidence = [run.evidence for run in pooled.runs[network]]
        drop, control, logit_drop, logit_control = (
            np.concatenate([getattr(e, a) for e in evidence]) for a in ("drop", "control_drop", "logit_drop", "control_logit_drop")
        )
        targets = np.concatenate([e.target for e in evidence])
        matrix = np.full((len(pooled.classes), len(pooled.regions)), np.nan)
        replicates = np.full((resamples, len(pooled.classes), len(pooled.regions)), np.nan)
        for cell in (c for c in pooled.design.cells if c.network == n):
            rows = targets == cell.cls
            estimate = np.nanmean(cell.values, axis=0)
            distribution = _replicate_means(cell, counts)
            matrix[cell.cls], replicates[:, cell.cls] = estimate, distribution
            bounds = bootstrap_intervals(distribution.T, estimate, np.full(len(estimate), cell.n_units), confidence, method)
            for r, region in enumerate(pooled.regions):
                profile_rows.append((
                    network, pooled.classes[cell.cls], region, family_of[r], bool(own[cell.cls, r]), int(rows.sum()), cell.n_units,
                    np.nanmean(drop[rows, r]), np.nanmean(control[rows, r]), estimate[r], bounds.low[r], bounds.high[r], bool(bounds.low[r] > 0),
                    np.nanmean(logit_drop[rows, r]), np.nanmean(logit_drop[rows, r] - logit_control[rows, r]),
                ))  # fmt: skip
        matrices[network] = (matrix, replicates)
    profile = pd.DataFrame(profile_rows, columns=PROFILE_COLUMNS)
    codebook_rows, group_rows, notes = [], [], []
    for family in families:
        columns = np.flatnonzero(family_of == family)
        family_own = own[:, columns]
        if not family_own.any():
            notes.append(f"{family} regions: no expression of the codebook owns one, no codebook test.")
            continue
        observed = {network: _codebook_statistic(matrix[:, columns], family_own) for network, (matrix, _) in matrices.items()}
        nulls = {
            network: np.array([_codebook_statistic(matrix[:, columns][:, rng.permutation(len(columns))], family_own) for _ in range(permutations)])
            for network, (matrix, _) in matrices.items()
        }
        tests = [(network, observed[network], nulls[network]) for network in matrices]
        if len(matrices) > 1:
            tests.append((POOLED, float(np.mean(list(observed.values()))), np.mean(np.stack(list(nulls.values())), axis=0)))
        for network, statistic, null in tests:
            p = (1 + np.sum(null >= statistic - 1e-12)) / (1 + len(null)) if np.isfinite(statistic) else np.nan
            label = {"ekman": "Study 1 masks", "au": "AU codebook"}.get(family, "own class regions")
            codebook_rows.append([network, family, label, len(pooled.classes), len(columns), statistic, float(np.nanmean(null)), p, np.nan, permutations])
        # the codebook statistic per network on the paired replicates, and the group differences
        per_network = {
            network: (observed[network], np.array([_codebook_statistic(replicates[b][:, columns], family_own) for b in range(resamples)]))
            for network, (_, replicates) in matrices.items()
        }
        units = pooled.design.n_units
        for network, (estimate, distribution) in per_network.items():
            bounds = bootstrap_intervals(distribution[None], np.array([estimate]), np.array([units]), confidence, method)
            group_rows.append([f"{network}: own - other regions", family, estimate, bounds.low[0], bounds.high[0], units])
        for first, second in combinations(per_network, 2):  # the networks against each other, paired replicates
            estimate = per_network[first][0] - per_network[second][0]
            bounds = bootstrap_intervals((per_network[first][1] - per_network[second][1])[None], np.array([estimate]), np.array([units]), confidence, method)
            group_rows.append([f"{first} - {second}", family, estimate, bounds.low[0], bounds.high[0], units])
        for name, member in (("pretrained - scratch", lambda run: run.pretrained), ("AU-guided - unguided", lambda run: run.guided)):
            inside = [network for network in per_network if member(pooled.runs[network][0])]
            outside = [network for network in per_network if not member(pooled.runs[network][0])]
            if not inside or not outside:
                notes.append(f"{family} regions, {name}: not compared (the runs have {'no' if not inside else 'only'} {name.split(' - ')[0]} networks).")
                continue
            estimate = np.mean([per_network[n][0] for n in inside]) - np.mean([per_network[n][0] for n in outside])
            distribution = np.mean([per_network[n][1] for n in inside], axis=0) - np.mean([per_network[n][1] for n in outside], axis=0)
            bounds = bootstrap_intervals(distribution[None], np.array([estimate]), np.array([units]), confidence, method)
            group_rows.append([name, family, estimate, bounds.low[0], bounds.high[0], units])
    codebook_table = pd.DataFrame(codebook_rows, columns=CODEBOOK_COLUMNS)
    if len(codebook_table):
        finite = codebook_table.p_value.notna()
        codebook_table.loc[finite, "p_adjusted"] = false_discovery_control(codebook_table.loc[finite, "p_value"].to_numpy(float))
    return ImportanceResults(profile, codebook_table, pd.DataFrame(group_rows, columns=GROUP_COLUMNS), tuple(notes))


def specific_excess(rows: pd.DataFrame) -> pd.Series:
    """The profile ``rows``' excess double-centred within each network and region family (the
    expression x region matrix minus its row and column means plus the grand mean, as the
    codebook test's statistic): a region's importance for the expression beyond its importance
    for every expression (removing the brows may hurt every expression) and beyond the
    expression's sensitivity to any region. Indexed as ``rows``; NaN where the excess is."""
    parts = []
    for _, group in rows.groupby(["network", "family"], sort=False):
        matrix = group.pivot(index="expression", columns="region", values="excess")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN region (outside every image)
            centred = pd.DataFrame(double_centred(matrix.to_numpy(float)), index=matrix.index, columns=matrix.columns)
        parts.append(pd.Series([centred.at[e, r] for e, r in zip(group.expression, group.region, strict=True)], index=group.index))
    return pd.concat(parts).reindex(rows.index) if parts else pd.Series(index=rows.index, dtype=float)


def own_region_best(profile: pd.DataFrame, network: str, family: str = "au") -> pd.Series:
    """Per expression of ``network``: True when its most important region among the
    ``family``'s is one of its own; most important = the largest ``specific_excess`` (rank 1 in
    the double-centred matrix, as the codebook test and the heatmaps' own mask best)."""
    rows = profile[(profile.network == network) & (profile.family == family)]
    rows = rows.assign(specific=specific_excess(rows))
    best = rows.loc[rows.groupby("expression").specific.idxmax()]
    return best.set_index("expression").own


def best_regions(profile: pd.DataFrame, family: str = "au") -> pd.DataFrame:
    """The profile's rows of the ``family`` region of largest ``specific_excess`` per network and
    expression (with that column), for the expressions that own a region of the family (their
    ``own`` column says whether the best is one of them)."""
    rows = profile[(profile.family == family) & profile.excess.notna()]
    rows = rows[rows.groupby(["network", "expression"]).own.transform("any")]
    if not len(rows):
        return rows.assign(specific=pd.Series(dtype=float))
    rows = rows.assign(specific=specific_excess(profile[profile.family == family]).reindex(rows.index))
    return rows.loc[rows.groupby(["network", "expression"], sort=False).specific.idxmax()]
