"""The seed level: repeated trainings of one architecture on the same test faces.

Networks of one fold whose runs differ only in their seed (same model, pretraining, AU
guidance, data set and fold) are S trainings of one architecture, each explained on the same
faces. The mean of their network means,

    Y = theta + T + F + e     (T: the seeds' mean training effect, F: the faces drawn, e: seed x face),

varies with the training (sigma_T^2 / S) and with the faces, which the S seeds share, so a t
over the seeds alone would miss the faces and the paired bootstrap alone would miss the
training. The interval adds the two variance components:

    V = C + s^2 / S,

- ``C``: the faces' variance that the seeds share, the mean covariance between two
  different seeds' replicates of the paired bootstrap (one draw of subjects for every seed at
  once, ``replicates.py``); the seed x face interaction is independent between seeds and
  drops out of it;
- ``s^2``: the sample variance (ddof = 1) of the S seeds' means, measured on the same faces,
  so free of the shared part: it estimates the training and the seed x face interaction.

(Adding the variance of the seed-mean's replicates instead of C counts the interaction twice:
the difference of two architectures, whose shared faces cancel, then covered 0.98.)

Y +- t_df sqrt(V), df from Welch-Satterthwaite with the bootstrap part's degrees of freedom
taken as infinite, df = V'^2 / ((s'^2 / S)^2 / (S - 1)), evaluated at the seed variance's
one-sided 75 % upper bound s'^2 = s^2 (S - 1) / chi2_{0.25, S-1} (V' the same with s'^2). The
plug-in df covers only 0.88-0.93 with 2-3 seeds when training dominates, because a small s^2
also makes df large; the bounded df covers 0.943-0.973 for S = 2-10 seeds and any ratio of
the two variances (20,000 simulated means per case; ``tests/analysis/statistics/test_seeds.py``
checks S = 3). A difference of two architectures adds both seed terms, and its C is the
shared variance of the difference (the within-architecture covariances minus twice the
cross covariance). Coverage on simulated heatmaps: ``benchmarks/bench_coverage.py`` (kinds
"over seeds").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2
from scipy.stats import t as student_t

from ferlens.analysis.heatmap_set import HeatmapSet
from ferlens.analysis.sources.base import guidance_suffix
from ferlens.analysis.statistics.baselines import architecture

SEED_COLUMNS = [
    "architecture", "other", "method", "mask_family", "metric", "seeds", "value", "seeds_se", "faces_se", "df", "ci_low", "ci_high",
    "p_value", "level", "p_adjusted",
]  # fmt: skip
#: the chi-square quantile of the seed variance's upper bound that sets the degrees of freedom
DF_QUANTILE = 0.25
#: what a seed-level interval covers
OVER_SEEDS = "seeds and their {unit} (training: the SD over {seeds} seeds; faces: the paired bootstrap)"


@dataclass(frozen=True)
class SeedGroup:
    """One architecture trained with several seeds: its ``label`` (model, AU-guidance suffix,
    ``(scratch)`` when not pretrained), and its ``members``: indices into the sets."""

    label: str
    members: tuple[int, ...]


def seed_groups(sets: list[HeatmapSet], folds: dict[str, int]) -> list[SeedGroup]:
    """The architectures among ``sets`` (one method's pooled sets) with two or more seeds:
    sets of one fold (``folds``: {network: folds it pools}) whose runs agree on model,
    pretraining, AU guidance, data set and fold and differ in seed. Labels are unique: two
    groups told apart only by data set or fold name both."""
    groups: dict[tuple, list[int]] = {}
    for index, heatmap_set in enumerate(sets):
        run = heatmap_set.run
        if run is None or folds.get(heatmap_set.network, 1) != 1:
            continue
        key = (architecture(heatmap_set), bool(run.pretrained), run.au_guidance or 0.0, run.dataset, run.fold)
        groups.setdefault(key, []).append(index)
    found = []
    for (model, pretrained, guidance, _, _), members in groups.items():
        seeds = {sets[i].run.seed for i in members}
        if len(seeds) >= 2 and len(seeds) == len(members):
            found.append(SeedGroup(f"{model}{guidance_suffix(guidance)}{'' if pretrained else ' (scratch)'}", tuple(members)))
    labels = [group.label for group in found]  # groups apart only by data set or fold get both in their label
    return [g if labels.count(g.label) == 1 else SeedGroup(f"{g.label} [{_data_set_and_fold(sets[g.members[0]].run)}]", g.members) for g in found]


def _data_set_and_fold(run) -> str:
    return f"{run.dataset}, fold {run.fold}" if run.fold is not None else str(run.dataset)


@dataclass(frozen=True)
class SeedInterval:
    """The mean ``value`` over seeds (or a difference of two such means) with its interval:
    ``seeds_se`` the training part's standard error sqrt(sum_g s_g^2 / S_g), ``faces_se`` the
    bootstrap SE of the faces, ``df`` the Welch-Satterthwaite degrees of freedom, ``p_value``
    the two-sided t p of "0"."""

    value: float
    seeds_se: float
    faces_se: float
    df: float
    ci_low: float
    ci_high: float
    p_value: float


def shared_variance(replicates: list[np.ndarray], signs: tuple[float, ...]) -> float:
    """The faces' variance of sum_g sign_g x mean over g's seeds, shared by the seeds:
    sum_gh sign_g sign_h C_gh, C_gh the mean covariance over the replicates between a seed of
    g and another seed of h (for g = h, pairs of two different seeds). ``replicates[g]``:
    float [S_g, R] each seed's network-mean replicates (paired draws; a replicate NaN in
    any seed is left out). The seed x face interaction is independent between seeds, so it
    drops out of C; the seeds' own variance holds it."""
    stacked = np.concatenate(replicates, axis=0)
    finite = np.isfinite(stacked).all(axis=0)
    if finite.sum() < 3:
        return np.nan
    centred = stacked[:, finite] - stacked[:, finite].mean(axis=1, keepdims=True)
    covariance = centred @ centred.T / (finite.sum() - 1)  # [S, S] over every seed of every group
    bounds = np.cumsum([0, *(len(r) for r in replicates)])
    total = 0.0
    for g, h in np.ndindex(len(replicates), len(replicates)):
        block = covariance[bounds[g] : bounds[g + 1], bounds[h] : bounds[h + 1]]
        mean = (block.sum() - np.trace(block)) / (block.size - len(block)) if g == h else block.mean()
        total += signs[g] * signs[h] * mean
    return float(max(total, 0.0))


def seed_interval(values: list[np.ndarray], replicates: list[np.ndarray], confidence: float, signs: tuple[float, ...] = (1.0,)) -> SeedInterval:
    """The interval of sum_g sign_g x mean(values[g]): ``values[g]`` float [S_g] the seeds'
    means of group g (full resolution), ``replicates[g]`` float [S_g, R] their paired bootstrap
    replicates (evidence grid; only their covariances are used, ``shared_variance``)."""
    value = float(sum(sign * np.mean(group) for sign, group in zip(signs, values, strict=True)))
    seed_terms = np.array([np.var(group, ddof=1) / len(group) for group in values])
    faces = shared_variance(replicates, signs)
    variance = faces + seed_terms.sum()
    upper = np.array([term * (len(group) - 1) / chi2.ppf(DF_QUANTILE, len(group) - 1) for term, group in zip(seed_terms, values, strict=True)])
    spread = sum(term**2 / (len(group) - 1) for term, group in zip(upper, values, strict=True))
    df = (faces + upper.sum()) ** 2 / spread if spread > 0 else np.inf
    if not np.isfinite(variance) or variance <= 0:
        return SeedInterval(value, float(np.sqrt(seed_terms.sum())), np.sqrt(faces), df, np.nan, np.nan, np.nan)
    half = float(student_t.ppf(0.5 + confidence / 2, df)) * np.sqrt(variance)
    p_value = float(2 * student_t.sf(abs(value) / np.sqrt(variance), df))
    return SeedInterval(value, float(np.sqrt(seed_terms.sum())), float(np.sqrt(faces)), float(df), value - half, value + half, p_value)


def seed_table(
    groups: list[SeedGroup],
    sets: list[HeatmapSet],
    means: pd.DataFrame,
    replicates: Callable[[int, str, str], np.ndarray | None],
    method: str,
    confidence: float,
    unit: str,
) -> pd.DataFrame:
    """``SEED_COLUMNS``: per architecture with several seeds its mean over seeds (``other``
    empty), and per pair of such architectures the difference of their means, per mask family
    and metric. ``means``: the method's ``MEAN_COLUMNS`` (each seed's network mean, full
    resolution); ``replicates(member, family, metric)``: float [R] that member's network-mean
    replicates (paired across members), None when it has none."""
    rows = []
    values = means.set_index(["network", "mask_family", "metric"])["value"]
    for family, metric in means[["mask_family", "metric"]].drop_duplicates().itertuples(index=False):
        known = []
        for group in groups:
            scores = np.array([values.get((sets[i].network, family, metric), np.nan) for i in group.members])
            drawn = [replicates(i, family, metric) for i in group.members]
            if np.isfinite(scores).all() and all(d is not None for d in drawn):
                known.append((group, scores, np.stack(drawn)))
        for group, scores, drawn in known:
            result = seed_interval([scores], [drawn], confidence)
            rows.append(_row(group.label, "", method, family, metric, str(len(scores)), result, OVER_SEEDS.format(unit=unit, seeds=len(scores))))
        for i, (first, first_scores, first_drawn) in enumerate(known):
            for second, second_scores, second_drawn in known[i + 1 :]:
                result = seed_interval([first_scores, second_scores], [first_drawn, second_drawn], confidence, (1.0, -1.0))
                level = OVER_SEEDS.format(unit=unit, seeds=f"{len(first_scores)} and {len(second_scores)}")
                rows.append(_row(first.label, second.label, method, family, metric, f"{len(first_scores)} - {len(second_scores)}", result, level))
    return pd.DataFrame(rows, columns=SEED_COLUMNS)


def _row(label, other, method, family, metric, seeds: str, result: SeedInterval, level: str) -> tuple:
    return (label, other, method, family, metric, seeds, result.value, result.seeds_se, result.faces_se, result.df,
            result.ci_low, result.ci_high, result.p_value, level, np.nan)  # fmt: skip
