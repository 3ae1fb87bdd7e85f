"""Who is resampled, and how: the units (subjects, else images) of one method's heatmap
sets, their strata, and one draw per bootstrap replicate shared by every cell.

Every network of an analysis explains the same test faces, and one face appears in several
expressions, so the cells are not independent. A replicate therefore draws the units once
and applies the draw to every (network, class) cell: the resampling is paired across
networks and classes (differences, ranks and the grand mean keep their covariance). Units
are drawn with replacement within strata: the fold (subjects of a subject-independent fold
are that fold's test faces) and, where images are the units, the true class as well.
A unit is named by (dataset, fold, subject) or (dataset, fold, image index), so the same
face seen by two networks is one unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferlens.analysis.heatmap_set import HeatmapSet
from ferlens.analysis.statistics.settings import UNITS


@dataclass(frozen=True)
class Cell:
    """The images of one class heatmap: ``network`` (index into the design's sets), ``cls``
    (class index), ``values`` float32 [n, P] evidence maps, ``units`` int64 [n] the design-wide
    unit of each image, ``n_units`` the distinct units among them."""

    network: int
    cls: int
    values: np.ndarray
    units: np.ndarray
    n_units: int


@dataclass(frozen=True)
class ResamplingDesign:
    """The units of a method's sets with evidence.

    unit: ``subjects`` or ``images``. stratum: int64 [U] each unit's stratum. fold: [U] each
    unit's fold (str). cells: one ``Cell`` per non-empty class of every set. folds: the
    distinct folds, in order.
    """

    unit: str
    stratum: np.ndarray
    fold: np.ndarray
    cells: list[Cell]

    @property
    def n_units(self) -> int:
        return len(self.stratum)

    @property
    def folds(self) -> list[str]:
        return list(dict.fromkeys(self.fold.tolist()))

    def units_of(self, network: int) -> np.ndarray:
        """The distinct units behind a network's cells."""
        return np.unique(np.concatenate([cell.units for cell in self.cells if cell.network == network] or [np.zeros(0, np.int64)]))

    def draw(self, replicates: int, rng: np.random.Generator) -> np.ndarray:
        """float32 [replicates, U]: each unit's weight in each replicate, the rescaled bootstrap of
        Rao & Wu (1988) with m = n_s - 1: each stratum's n_s units are drawn n_s - 1 times with
        replacement and every draw weighs n_s / (n_s - 1), so a stratum keeps its weight and a
        mean's replicates vary by the unbiased variance s^2 / n of every stratum, where drawing
        n_s times gives (n_s - 1) / n_s of it (91 % coverage for a nominal 95 % with 4 subjects
        per fold, measured by ``benchmarks/bench_coverage.py``). A stratum of one unit keeps it."""
        weights = np.zeros((replicates, self.n_units), np.float32)
        for stratum in np.unique(self.stratum):
            members = np.flatnonzero(self.stratum == stratum)
            size = len(members)
            if size == 1:
                weights[:, members] = 1.0
                continue
            drawn = rng.multinomial(size - 1, np.full(size, 1 / size), size=replicates)
            weights[:, members] = drawn * np.float32(size / (size - 1))
        return weights

    def jackknife(self) -> np.ndarray:
        """float32 [U, U]: row u weights every unit but u (delete-one-unit jackknife), the
        remaining units of u's stratum weighted n_s / (n_s - 1) so each stratum keeps its weight."""
        weights = np.ones((self.n_units, self.n_units), np.float32)
        stratum_index = np.unique(self.stratum, return_inverse=True)[1]
        size_of = np.bincount(stratum_index)[stratum_index]
        same = self.stratum[:, None] == self.stratum[None, :]
        weights = np.where(same, np.where(size_of[:, None] > 1, size_of[:, None] / np.maximum(size_of[:, None] - 1, 1), 1.0), weights)
        np.fill_diagonal(weights, 0.0)
        return weights.astype(np.float32)


def unit_kind(sets: list[HeatmapSet], asked: str) -> str:
    """``subjects`` where asked (or ``auto``) and every image of every set has a known
    subject, else ``images`` (one kind for all sets, so that they can be paired)."""
    if asked not in UNITS:
        raise ValueError(f"unit={asked!r}: use one of {UNITS}")
    known = all(s.evidence is not None and s.evidence.subjects_known() for s in sets)
    return "subjects" if asked in ("auto", "subjects") and known else "images"


def image_folds(heatmap_set: HeatmapSet) -> np.ndarray:
    """str [n]: the fold of each evidence image of a set (a pooled set's ``evidence_folds``,
    else the set's own fold)."""
    if heatmap_set.evidence_folds is not None:
        return np.asarray(heatmap_set.evidence_folds).astype(str)
    return np.full(len(heatmap_set.evidence), str(heatmap_set.fold))


def build_design(sets: list[HeatmapSet], min_count: int, asked: str) -> ResamplingDesign:
    """The design of ``sets`` (all with evidence): units named across sets, their strata and folds."""
    unit = unit_kind(sets, asked)
    names: dict[tuple, int] = {}
    strata: dict[tuple, int] = {}
    stratum_of: list[int] = []
    fold_of: list[str] = []
    cells = []
    for n, heatmap_set in enumerate(sets):
        evidence = heatmap_set.evidence
        dataset = heatmap_set.run.dataset if heatmap_set.run is not None else ""
        folds = image_folds(heatmap_set)
        ids = np.empty(len(evidence), np.int64)
        for i in range(len(evidence)):
            who = evidence.subject[i] if unit == "subjects" else int(evidence.index[i])
            key = (dataset, folds[i], who)
            if key not in names:
                names[key] = len(names)
                where = (dataset, folds[i]) if unit == "subjects" else (dataset, folds[i], int(evidence.label[i]))
                stratum_of.append(strata.setdefault(where, len(strata)))
                fold_of.append(folds[i])
            ids[i] = names[key]
        for c, missing in enumerate(heatmap_set.missing(min_count)):
            rows = np.flatnonzero(evidence.target == c)
            if missing or not len(rows):
                continue
            cells.append(Cell(n, c, evidence.values(rows), ids[rows], len(np.unique(ids[rows]))))
    return ResamplingDesign(unit, np.array(stratum_of, np.int64), np.array(fold_of, dtype=object).astype(str), cells)
