"""The named results of ``compute_statistics``: one tidy table per statistic (their columns
below) and the dendrograms with their bootstrap probabilities."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ferlens.analysis.statistics.settings import StatisticsSettings

GRAND_MEAN = "grand mean"
ALL_EXPRESSIONS = "all"
#: what an interval covers: the faces (subjects or images) behind fixed trained models, or
#: also the training (folds: each fold a model of its own and faces of its own)
CONDITIONAL = "{unit} (the trained models fixed)"
HIERARCHICAL = "folds and their {unit} (t over {folds} folds)"

CELL_COLUMNS = [
    "network", "method", "mask_family", "metric", "expression", "value", "ci_low", "ci_high", "prior", "prior_ci_low", "prior_ci_high",
    "alignment", "alignment_ci_low", "alignment_ci_high", "offset", "bias", "unit", "units", "images", "level",
]  # fmt: skip
MEAN_COLUMNS = [
    "network", "method", "mask_family", "metric", "value", "ci_low", "ci_high", "alignment", "alignment_ci_low", "alignment_ci_high",
    "level", "first_share", "expressions_ci_low", "expressions_ci_high", "expressions",
]  # fmt: skip
DIFFERENCE_COLUMNS = [
    "network", "other", "comparison", "method", "mask_family", "metric", "classes", "difference", "ci_low", "ci_high", "p_value",
    "alignment_difference", "alignment_ci_low", "alignment_ci_high", "alignment_p_value", "level", "p_adjusted",
]  # fmt: skip
FOLD_COLUMNS = ["network", "method", "mask_family", "metric", "folds", "mean", "sd", "ci_low", "ci_high"]
SPREAD_COLUMNS = ["network", "method", "mask_family", "metric", "expression", "folds", "mean", "sd", "ci_low", "ci_high"]
RELIABILITY_COLUMNS = ["network", "method", "expression", "unit", "units", "split_half_r", "reliability", "specific_split_half_r", "specific_reliability"]
CLUSTER_COLUMNS = ["method", "expression", "linkage", "cluster", "size", "height", "bp", "resampling"]
GROUP_COLUMNS = [
    "method", "expression", "networks", "pretrained", "within", "between", "difference", "p_value", "permutations", "exact", "p_adjusted",
]  # fmt: skip


@dataclass
class Tree:
    """One dendrogram of the report: ``labels``, scipy ``linkage`` [N-1, 4], and the bootstrap
    probability of the cluster formed at each merge (NaN for the root) with how it was
    resampled; ``grid`` names the maps the tree and its bootstrap trees were both built on."""

    labels: list[str]
    linkage: np.ndarray
    bp: np.ndarray
    resampling: str
    grid: str = "evidence grid (55x56)"


@dataclass
class Statistics:
    """The statistics of one analysis; every table tidy (see the ``*_COLUMNS``).

    cells, means, differences: scores, network means (and the grand mean) and paired network
    differences with their intervals; fold_means / fold_spread: the fold-level means with
    t-intervals over folds; seeds: architectures trained with several seeds on the same faces,
    their means over seeds and differences (``seeds.py``); baselines, specificity, permutation: chance levels and the
    mask-label tests; reliability, clusters, groups, trees: stability; claims: every p-value
    the report states as a finding, adjusted together (``multiplicity.py``).
    """

    settings: StatisticsSettings
    cells: pd.DataFrame
    means: pd.DataFrame
    differences: pd.DataFrame
    baselines: pd.DataFrame
    specificity: pd.DataFrame
    permutation: pd.DataFrame
    reliability: pd.DataFrame
    clusters: pd.DataFrame
    groups: pd.DataFrame
    fold_means: pd.DataFrame
    seeds: pd.DataFrame
    fold_spread: pd.DataFrame
    claims: pd.DataFrame
    trees: dict[tuple[str, str, str], Tree] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
