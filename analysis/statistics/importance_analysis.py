"""The region-importance part of an analysis (compute only): finds each analyzed run's
``importance/<name>/`` evidence (``RegionImportancePass``), computes its statistics
(``region_importance``) and, when the analysis has several saliency methods, how much its
conclusions owe to the method (``explainer_dependence``), as one named result,
``ImportanceAnalysis``, which ``analysis.report.importance`` presents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

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
from ferlens.formats.importance_evidence import ImportanceEvidence, read_importance

if TYPE_CHECKING:
    from ferlens.analysis.pipeline import Analysis

IMPORTANCE_NAME = "au_regions"
#: the codebooks an expression's own AU regions come from: Study 2's, or the generating AUs of
#: the distinct-prototype synthetic faces (``data.source.prototypes=distinct``, known truth)
CODEBOOKS = {
    "study": dict(AU_CODEBOOK),
    "distinct": {name: tuple(au for alternative in aus for au in alternative) for name, aus in DISTINCT_PROTOTYPES.items()},
}


@dataclass(frozen=True)
class ExplainerDependence:
    """How much the conclusions owe to the saliency method: Kendall's W per mask family
    (``AGREEMENT_COLUMNS``), the variance components (``VARIANCE_COLUMNS``), per method the
    region fidelity (``explainer_dependence.FIDELITY_COLUMNS``, empty without region
    importance) and the network orderings that hold or flip."""

    agreement: pd.DataFrame
    variance: pd.DataFrame
    fidelity: pd.DataFrame
    flips: pd.DataFrame


@dataclass(frozen=True)
class ImportanceAnalysis:
    """The region-importance part of one analysis: its ``codebook`` name (``CODEBOOKS``), the
    statistics of the runs' evidence (None: no run has any), the explainer dependence (None:
    one method) and whether the source has no networks to intervene on (``source=paper``)."""

    codebook: str
    results: ImportanceResults | None
    dependence: ExplainerDependence | None
    without_networks: bool

    @property
    def empty(self) -> bool:
        """Nothing to report: no evidence, one method and a source with networks."""
        return self.results is None and self.dependence is None and not self.without_networks


def importance_evidence(analysis: Analysis, name: str = IMPORTANCE_NAME) -> dict[str, tuple[ImportanceRun, ImportanceEvidence]]:
    """{run directory: (its ``ImportanceRun``, its evidence)} of every analyzed per-fold set's
    run holding ``importance/<name>/``, each run once whatever its methods."""
    found: dict[str, tuple[ImportanceRun, ImportanceEvidence]] = {}
    for heatmap_set in analysis.sets:
        run = heatmap_set.manifest.run if heatmap_set.manifest is not None else None
        if run is None or not run.dir or run.dir in found:
            continue
        directory = Path(run.dir) / "importance" / name
        if not (directory / "manifest.json").is_file():
            continue
        evidence = read_importance(directory)
        guided = bool(run.au_guidance) and float(run.au_guidance) > 0
        found[run.dir] = (ImportanceRun(heatmap_set.network, str(heatmap_set.fold), run.dataset or "", bool(run.pretrained), guided, evidence), evidence)
    return found


def explainer_dependence(analysis: Analysis, settings, importance: dict[str, ImportanceEvidence]) -> ExplainerDependence | None:
    """Agreement, variance decomposition and ranking flips of the methods' cell scores (the
    headline metric of each mask family, pooled sets where there are some), and per method the
    region fidelity of its heatmaps against ``importance`` ({run directory: its evidence}).
    None with one method."""
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
    return ExplainerDependence(
        pd.DataFrame(agreement, columns=AGREEMENT_COLUMNS),
        pd.concat(variance)[VARIANCE_COLUMNS] if variance else pd.DataFrame(columns=VARIANCE_COLUMNS),
        _fidelity(analysis, settings, importance),
        pd.concat(flips) if flips else pd.DataFrame(),
    )


def _fidelity(analysis: Analysis, settings, importance: dict[str, ImportanceEvidence]) -> pd.DataFrame:
    """Per method: the per-image Spearman of heatmap mass per region (evidence grid) and the
    region's excess importance, over the images both passes share (same run, same source index)."""
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


def analyze_importance(analysis: Analysis, settings, source_kind: str, codebook: str = "study", name: str = IMPORTANCE_NAME) -> ImportanceAnalysis:
    """The region-importance part of ``analysis`` with the statistics ``settings``
    (``StatisticsSettings``: resamples, permutations, interval, unit, seed); a ``source_kind``
    ``paper`` has no networks; ``codebook`` names the expressions' own AUs (``CODEBOOKS``)."""
    found = importance_evidence(analysis, name)
    runs = [run for run, _ in found.values()]
    results = None
    if runs:
        results = compute_region_importance(
            runs, CODEBOOKS[codebook], settings.resamples, settings.permutations, settings.confidence, settings.interval, settings.resample, settings.seed
        )
    dependence = explainer_dependence(analysis, settings, {directory: evidence for directory, (_, evidence) in found.items()})
    return ImportanceAnalysis(codebook, results, dependence, source_kind == "paper" and not runs)
