"""One vectorised statistic turns a batch of unit draws into every number the intervals need.

For each replicate (a row of unit counts, ``ResamplingDesign.draw``) and each cell, the
replicate mean map is the count-weighted mean of the cell's evidence maps; from those maps
the statistic scores, for every mask family and metric:

- ``cell``: each (network, class) map against its class mask;
- ``prior``: the network's face prior for that class, the equal-weight mean of its *other*
  classes' maps (leave-one-class-out), against the same mask; ``align`` = cell - prior;
- ``net`` / ``net_align``: each network's mean over its classes;
- ``grand`` / ``grand_align``: the mean over networks;
- ``diff`` / ``diff_align``: for every pair of networks, the mean over the classes both have
  of (first - second).

Rows are named by ``RowKey``. A cell whose replicate draws none of its units is NaN in that
replicate. ``observers`` see each batch's mean maps and add rows (cluster indicators).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ferlens.analysis.statistics.design import ResamplingDesign
from ferlens.evaluation.localisation.masks import MaskFamily
from ferlens.evaluation.localisation.scores import METRICS, MaskRegions, Threshold, gray_levels, score_maps
from ferlens.formats.evidence import pool_mask

CELL_KINDS = ("cell", "prior", "align")
NETWORK_KINDS = ("net", "net_align")
GRAND_KINDS = ("grand", "grand_align")
DIFFERENCE_KINDS = ("diff", "diff_align")


@dataclass(frozen=True)
class RowKey:
    """The name of one output row: ``kind`` (``CELL_KINDS`` ...), the ``network`` (index into
    the design's sets; None for the grand mean), the ``other`` network of a difference, the
    class index ``cls`` (None above the cell level), the mask ``family`` and the ``metric``."""

    kind: str
    network: int | None
    cls: int | None
    family: str
    metric: str
    other: int | None = None


class ReplicateStatistic:
    """Unit counts [B, U] -> float64 [rows, B] (``keys`` names the rows, then the observers')."""

    def __init__(self, design: ResamplingDesign, classes: list[str], families: dict[str, MaskFamily], threshold: Threshold) -> None:
        self.design, self.threshold = design, threshold
        self.masks = {c: {f: pool_mask(m[name]).ravel() for f, m in families.items() if name in m} for c, name in enumerate(classes)}
        self.classes_of: dict[int, list[int]] = {}
        for cell in design.cells:
            self.classes_of.setdefault(cell.network, []).append(cell.cls)
        networks = list(self.classes_of)
        self.pairs = [(a, b) for i, a in enumerate(networks) for b in networks[i + 1 :]]
        self.families_used = list(dict.fromkeys(f for c in self.masks for f in self.masks[c]))
        keys = [RowKey(kind, cell.network, cell.cls, f, m) for kind in CELL_KINDS for cell in design.cells for f in self.masks[cell.cls] for m in METRICS]
        keys += [RowKey(kind, n, None, f, m) for kind in NETWORK_KINDS for n in networks for f in self.families_used for m in METRICS]
        keys += [RowKey(kind, None, None, f, m) for kind in GRAND_KINDS for f in self.families_used for m in METRICS]
        keys += [RowKey(kind, a, None, f, m, b) for kind in DIFFERENCE_KINDS for a, b in self.pairs for f in self.families_used for m in METRICS]
        self.keys = keys
        self.rows = {key: i for i, key in enumerate(keys)}
        self.class_regions = {c: MaskRegions.of(np.stack(list(masks.values()))) for c, masks in self.masks.items() if masks}
        self.observers: list[Callable[[dict[tuple[int, int], np.ndarray]], np.ndarray]] = []
        self._mean_plans: dict[str, list[tuple[np.ndarray, ...]]] | None = None

    def units_behind(self, key: RowKey) -> int:
        """The resampled units a row rests on (the expanded interval's n)."""
        design = self.design
        if key.kind == "cell":
            return next(cell.n_units for cell in design.cells if cell.network == key.network and cell.cls == key.cls)
        if key.network is None:
            return design.n_units
        units = design.units_of(key.network)
        if key.other is not None:
            units = np.union1d(units, design.units_of(key.other))
        return len(units)

    def mean_maps(self, counts: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """{(network, class): float32 [B, P]} the replicate mean maps (NaN rows where a replicate drew none of the cell's units)."""
        means = {}
        for cell in self.design.cells:
            weights = counts[:, cell.units].astype(np.float32)  # [B, n]
            total = weights.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                means[cell.network, cell.cls] = (weights @ cell.values) / total[:, None]
        return means

    def _score(self, maps: np.ndarray, regions: MaskRegions) -> dict[str, np.ndarray]:
        """Every metric [B, M] of maps [B, P] (NaN rows stay NaN)."""
        undefined = ~np.isfinite(maps).all(axis=1)
        clean = np.where(undefined[:, None], 0.0, maps)
        scores = score_maps(gray_levels(clean), clean, regions, self.threshold, ranks="gray")
        return {metric: np.where(undefined[:, None], np.nan, values) for metric, values in scores.items()}

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        means = self.mean_maps(counts)
        batch = len(counts)
        totals = {n: _finite_sum(means, n, classes) for n, classes in self.classes_of.items()}
        out = np.full((len(self.keys), batch), np.nan)
        rows = self.rows
        for c, masks in self.masks.items():
            networks = [n for n, classes in self.classes_of.items() if c in classes]
            if not networks or not masks:
                continue
            cells = np.concatenate([means[n, c] for n in networks])
            priors = np.concatenate([self._prior(means, totals[n], n, c, batch) for n in networks])
            for kind, maps in (("cell", cells), ("prior", priors)):
                scores = self._score(maps, self.class_regions[c])
                for i, n in enumerate(networks):
                    for j, family in enumerate(masks):
                        for metric in METRICS:
                            out[rows[RowKey(kind, n, c, family, metric)]] = scores[metric][i * batch : (i + 1) * batch, j]
            for n in networks:
                for family in masks:
                    for metric in METRICS:
                        out[rows[RowKey("align", n, c, family, metric)]] = (
                            out[rows[RowKey("cell", n, c, family, metric)]] - out[rows[RowKey("prior", n, c, family, metric)]]
                        )
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a mean over no finite class stays NaN
            self.fill_means(out)
        extra = [observer(means) for observer in self.observers]
        return np.concatenate([out, *extra]) if extra else out

    def _prior(self, means: dict[tuple[int, int], np.ndarray], total: tuple[np.ndarray, np.ndarray], network: int, cls: int, batch: int) -> np.ndarray:
        """float32 [B, P]: the network's leave-one-class-out face prior for ``cls``, the mean of
        its other classes' finite maps from their ``total`` (``_finite_sum``) less this class's
        (NaN without another class)."""
        summed, count = total
        own = means[network, cls]
        known = np.isfinite(own[:, 0])
        with np.errstate(invalid="ignore", divide="ignore"):
            return (summed - np.where(known[:, None], own, 0)) / (count - known)[:, None]

    def fill_means(self, out: np.ndarray) -> None:
        """Fill the network, grand-mean and difference rows of ``out`` [rows, B] from its cell
        rows: each kind of mean in a few array operations, its rows grouped by how many rows they average."""
        plans = self._plans()
        for stage in ("net", "grand"):
            for targets, sources in plans[stage]:
                out[targets] = np.nanmean(out[sources], axis=1)  # [T, k, B] -> [T, B]
        for targets, first, second in plans["diff"]:
            out[targets] = np.nanmean(out[first] - out[second], axis=1)

    def _plans(self) -> dict[str, list[tuple[np.ndarray, ...]]]:
        """Per stage, (target rows [T], source rows [T, k] ...) groups of ``fill_means``, made once."""
        if self._mean_plans is not None:
            return self._mean_plans
        rows = self.rows
        means: dict[str, dict[int, list[tuple[int, list[int]]]]] = {"net": {}, "grand": {}}
        differences: dict[int, list[tuple[int, list[int], list[int]]]] = {}
        for family in self.families_used:
            for metric in METRICS:
                for kind, source in (("net", "cell"), ("net_align", "align")):
                    for n, classes in self.classes_of.items():
                        chosen = [rows[RowKey(source, n, c, family, metric)] for c in classes if family in self.masks[c]]
                        if chosen:
                            means["net"].setdefault(len(chosen), []).append((rows[RowKey(kind, n, None, family, metric)], chosen))
                    chosen = [rows[RowKey(kind, n, None, family, metric)] for n in self.classes_of]
                    means["grand"].setdefault(len(chosen), []).append((rows[RowKey("grand" + kind[3:], None, None, family, metric)], chosen))
                for kind, source in (("diff", "cell"), ("diff_align", "align")):
                    for a, b in self.pairs:
                        shared = [c for c in self.classes_of[a] if c in self.classes_of[b] and family in self.masks[c]]
                        if shared:
                            target = rows[RowKey(kind, a, None, family, metric, b)]
                            first = [rows[RowKey(source, a, c, family, metric)] for c in shared]
                            second = [rows[RowKey(source, b, c, family, metric)] for c in shared]
                            differences.setdefault(len(shared), []).append((target, first, second))
        plans: dict[str, list[tuple[np.ndarray, ...]]] = {
            stage: [(np.array([t for t, _ in group]), np.array([s for _, s in group])) for group in groups.values()] for stage, groups in means.items()
        }
        plans["diff"] = [tuple(np.array([entry[i] for entry in group]) for i in range(3)) for group in differences.values()]
        self._mean_plans = plans
        return plans


def _finite_sum(means: dict[tuple[int, int], np.ndarray], network: int, classes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(float32 [B, P] the sum of the network's class maps that are finite in each replicate,
    float32 [B] how many): one pass shared by every class's leave-one-class-out prior."""
    summed = np.zeros_like(means[network, classes[0]])
    count = np.zeros(len(summed), np.float32)
    for c in classes:
        known = np.isfinite(means[network, c][:, 0])
        summed += np.where(known[:, None], means[network, c], 0)
        count += known
    return summed, count


@dataclass(frozen=True)
class ReplicateOutcome:
    """``distribution`` float64 [rows, R] the replicates, ``estimate`` [rows] the statistic of
    all units (on the evidence grid), ``jackknife`` [rows, U] or None; rows named by ``keys``
    (then the observers' rows)."""

    keys: list[RowKey]
    distribution: np.ndarray
    estimate: np.ndarray
    jackknife: np.ndarray | None


def run_replicates(statistic: ReplicateStatistic, resamples: int, seed: int, batch: int, jackknife: bool = False) -> ReplicateOutcome:
    """``resamples`` paired replicates of ``statistic`` (``batch`` per vectorised step), its
    all-units estimate and, when asked (BCa), its delete-one-unit jackknife."""
    design = statistic.design
    rng = np.random.default_rng(seed)
    estimate = statistic(np.ones((1, design.n_units), np.float32))[:, 0]
    draws = [design.draw(min(batch, resamples - start), rng) for start in range(0, resamples, batch)]  # drawn in order: the seed fixes every replicate
    # the batches on every core: numpy's array work releases the GIL, and one BLAS thread each
    with ThreadPoolExecutor(max_workers=_cores()) as pool:
        parts = list(pool.map(statistic, draws))
        distribution = np.concatenate(parts, axis=1) if parts else np.full((len(estimate), 0), np.nan)
        leave_one_out = None
        if jackknife:
            weights = design.jackknife()
            leave_one_out = np.concatenate(list(pool.map(statistic, [weights[start : start + batch] for start in range(0, design.n_units, batch)])), axis=1)
    return ReplicateOutcome(statistic.keys, distribution, estimate, leave_one_out)


def _cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
