"""Bootstrap confidence intervals from the per-image evidence of the pooled heatmap sets.

One ``scipy.stats.bootstrap`` call per method resamples every (network, class) cell
independently (a stratified bootstrap: images within class, or subjects within class, since
the images of one face are not independent), and one vectorised statistic turns each
resample into everything the report needs: each cell's scores, each network's face-prior
scores and specific alignment (score - prior), the network means, the grand mean, and for the
cluster stability the networks' resampled maps (``ReplicateMaps``).

The statistic is computed on the evidence grid (55 x 56); the tables' numbers are computed at
full template resolution. The percentile interval of the evidence-grid statistic is moved by
the difference between the two estimates (full - evidence grid, measured on all images), so
that each interval sits around the table's number; ``offset`` records that difference. The
pointing game (0 or 1) is not moved: its interval is the evidence grid's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from ferlens.analysis.heatmap_set import HeatmapSet
from ferlens.formats.evidence import pool_mask
from ferlens.scoring.masks import MaskFamily
from ferlens.scoring.scores import METRICS, MaskRegions, Threshold, gray_levels, score_maps

#: resampling units: ``subjects`` when every image's subject is known (``auto``), else ``images``
UNITS = ("auto", "subjects", "images")


@dataclass
class Cell:
    """The images of one class heatmap: ``values`` float32 [n, P] evidence maps, ``units``
    int64 [n] the resampling unit of each image (0..n_units-1)."""

    network: int
    cls: int
    values: np.ndarray
    units: np.ndarray
    n_units: int


def unit_of(heatmap_set: HeatmapSet, unit: str) -> str:
    """The resampling unit used for a set: ``subjects`` where asked (or ``auto``) and every
    image's subject is known, else ``images``."""
    if unit not in UNITS:
        raise ValueError(f"unit={unit!r}: use one of {UNITS}")
    known = heatmap_set.evidence is not None and heatmap_set.evidence.subjects_known()
    return "subjects" if unit in ("auto", "subjects") and known else "images"


def cells_of(sets: list[HeatmapSet], min_count: int, unit: str) -> list[Cell]:
    """One ``Cell`` per non-empty class of every set (all sets must carry evidence)."""
    cells = []
    for n, heatmap_set in enumerate(sets):
        evidence = heatmap_set.evidence
        for c, missing in enumerate(heatmap_set.missing(min_count)):
            rows = np.flatnonzero(evidence.target == c)
            if missing or not len(rows):
                continue
            units = evidence.units(rows, unit_of(heatmap_set, unit))
            cells.append(Cell(n, c, evidence.values(rows), units, int(units.max()) + 1))
    return cells


@dataclass
class Layout:
    """Names of the statistic's output rows: (kind, network or -1, class or -1, family, metric)."""

    keys: list[tuple] = field(default_factory=list)

    def add(self, key: tuple) -> int:
        self.keys.append(key)
        return len(self.keys) - 1


class ReplicateStatistic:
    """``scipy.stats.bootstrap``'s statistic: resampled unit indices of every resampled cell
    ([batch, n_units] each) -> float64 [outputs, batch] (``layout`` names the rows).

    Cells with fewer than two units are not resampled (their images enter every replicate
    as they are). ``observers`` see each batch's mean maps ({(network, class): float32
    [batch, P]}) and return extra rows appended after the scores (e.g. cluster indicators).
    """

    def __init__(self, cells: list[Cell], classes: list[str], families: dict[str, MaskFamily], threshold: Threshold, networks: int) -> None:
        self.cells, self.classes, self.threshold, self.networks = cells, classes, threshold, networks
        self.resampled = [cell for cell in cells if cell.n_units >= 2]
        self.masks = {c: {f: pool_mask(m[name]).ravel() for f, m in families.items() if name in m} for c, name in enumerate(classes)}
        self.layout = Layout()
        self.rows: dict[tuple, int] = {}
        self.observers: list[Callable[[dict[tuple[int, int], np.ndarray]], np.ndarray]] = []
        by_network: dict[int, list[int]] = {}
        for cell in cells:
            by_network.setdefault(cell.network, []).append(cell.cls)
        self.classes_of = by_network
        for kind in ("cell", "prior", "align"):
            for cell in cells:
                for family in self.masks[cell.cls]:
                    for metric in METRICS:
                        self._row((kind, cell.network, cell.cls, family, metric))
        families_used = list(dict.fromkeys(f for c in self.masks for f in self.masks[c]))
        for kind in ("net", "net_align"):
            for network in by_network:
                for family in families_used:
                    for metric in METRICS:
                        self._row((kind, network, -1, family, metric))
        for kind in ("grand", "grand_align"):
            for family in families_used:
                for metric in METRICS:
                    self._row((kind, -1, -1, family, metric))
        self.families_used = families_used
        self.class_regions = {c: MaskRegions.of(np.stack(list(masks.values()))) for c, masks in self.masks.items() if masks}
        self.prior_keys = [(c, f) for c, masks in self.masks.items() for f in masks]
        self.prior_regions = MaskRegions.of(np.stack([self.masks[c][f] for c, f in self.prior_keys]))

    def _row(self, key: tuple) -> None:
        self.rows[key] = self.layout.add(key)

    def mean_maps(self, samples: tuple[np.ndarray, ...]) -> tuple[dict[tuple[int, int], np.ndarray], dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]]:
        """Per cell, the replicate mean maps [batch, P] and (sums [batch, P], image totals [batch])."""
        batch = len(samples[0]) if samples else 1
        drawn = {id(cell): sample for cell, sample in zip(self.resampled, samples, strict=True)}
        means, sums = {}, {}
        for cell in self.cells:
            if id(cell) in drawn:
                sample = drawn[id(cell)].reshape(batch, -1)
                offsets = np.arange(batch)[:, None] * cell.n_units
                draws = np.bincount((sample + offsets).ravel(), minlength=batch * cell.n_units).reshape(batch, cell.n_units)
                weights = draws[:, cell.units].astype(np.float32)  # [batch, n]: how often each image was drawn
            else:
                weights = np.ones((batch, len(cell.units)), np.float32)
            total = weights.sum(axis=1)
            summed = weights @ cell.values
            sums[cell.network, cell.cls] = (summed, total)
            means[cell.network, cell.cls] = summed / total[:, None]
        return means, sums

    def __call__(self, *samples: np.ndarray, axis: int = -1) -> np.ndarray:
        means, sums = self.mean_maps(samples)
        batch = next(iter(means.values())).shape[0]
        out = np.full((len(self.layout.keys), batch), np.nan)
        for c, masks in self.masks.items():
            cells = [cell for cell in self.cells if cell.cls == c]
            if not cells or not masks:
                continue
            stacked = np.concatenate([means[cell.network, c] for cell in cells])
            scores = score_maps(gray_levels(stacked), stacked, self.class_regions[c], self.threshold, ranks="gray")
            for i, cell in enumerate(cells):
                for j, family in enumerate(masks):
                    for metric in METRICS:
                        out[self.rows["cell", cell.network, c, family, metric]] = scores[metric][i * batch : (i + 1) * batch, j]
        prior_keys = self.prior_keys
        networks = list(self.classes_of)
        priors = np.concatenate([sum(sums[n, c][0] for c in self.classes_of[n]) / sum(sums[n, c][1] for c in self.classes_of[n])[:, None] for n in networks])
        scores = score_maps(gray_levels(priors), priors, self.prior_regions, self.threshold, ranks="gray")
        for i, network in enumerate(networks):
            for c in self.classes_of[network]:
                for family in self.masks[c]:
                    column = prior_keys.index((c, family))
                    for metric in METRICS:
                        prior = scores[metric][i * batch : (i + 1) * batch, column]
                        out[self.rows["prior", network, c, family, metric]] = prior
                        out[self.rows["align", network, c, family, metric]] = out[self.rows["cell", network, c, family, metric]] - prior
        for family in self.families_used:
            for metric in METRICS:
                for kind, source in (("net", "cell"), ("net_align", "align")):
                    for network in networks:
                        rows = [self.rows[source, network, c, family, metric] for c in self.classes_of[network] if family in self.masks[c]]
                        out[self.rows[kind, network, -1, family, metric]] = np.nanmean(out[rows], axis=0) if rows else np.nan
                    rows = [self.rows[kind, network, -1, family, metric] for network in networks]
                    out[self.rows["grand" + kind[3:], -1, -1, family, metric]] = np.nanmean(out[rows], axis=0)
        extra = [observer(means) for observer in self.observers]
        return np.concatenate([out, *extra]) if extra else out


@dataclass
class BootstrapOutcome:
    """``distribution`` float [outputs, resamples], ``low`` / ``high`` [outputs] the
    percentile interval on the evidence grid, ``estimate`` [outputs] the statistic of all
    images on the evidence grid; rows named by ``keys`` (then the observers' rows)."""

    keys: list[tuple]
    distribution: np.ndarray
    low: np.ndarray
    high: np.ndarray
    estimate: np.ndarray


#: interval methods of ``scipy.stats.bootstrap`` offered (``statistics.interval``)
INTERVALS = ("percentile", "bca", "basic")


def run_bootstrap(
    statistic: ReplicateStatistic, resamples: int, confidence: float, seed: int, batch: int = 50, interval: str = "percentile"
) -> BootstrapOutcome:
    """Intervals (``INTERVALS``, scipy's ``method``) of every output of ``statistic`` over
    ``resamples`` stratified resamples (``scipy.stats.bootstrap``, each cell's units drawn
    with replacement). BCa adds a jackknife: one more evaluation per resampling unit."""
    units = tuple(np.arange(cell.n_units) for cell in statistic.resampled)
    estimate = statistic(*(u[None, :] for u in units))[:, 0]
    if not units:  # nothing to resample: every cell rests on one unit
        nothing = np.full_like(estimate, np.nan)
        return BootstrapOutcome(statistic.layout.keys, np.full((len(estimate), 0), np.nan), nothing, nothing, estimate)
    result = bootstrap(
        units,
        statistic,
        n_resamples=resamples,
        batch=batch,
        vectorized=True,
        paired=False,
        axis=-1,
        confidence_level=confidence,
        method=interval,
        rng=np.random.default_rng(seed),
    )
    return BootstrapOutcome(statistic.layout.keys, result.bootstrap_distribution, result.confidence_interval.low, result.confidence_interval.high, estimate)


#: metrics whose values are 0 or 1: their interval is the evidence grid's own, never moved
BINARY_VALUED = ("pointing_game",)


def shifted_intervals(outcome: BootstrapOutcome, full: dict[tuple, float], rows: list[int], bounds: tuple[float, float]) -> pd.DataFrame:
    """For the output ``rows``: the full-resolution estimate from ``full`` (by key), the
    interval moved by (full - evidence-grid estimate) and clipped to ``bounds``, and that
    offset (0 for ``BINARY_VALUED`` metrics, whose hits are not moved)."""
    records = []
    for row in rows:
        key = outcome.keys[row]
        value = full.get(key, np.nan)
        offset = 0.0 if key[4] in BINARY_VALUED and np.isfinite(value) else value - outcome.estimate[row]
        low, high = (np.clip(outcome.low[row] + offset, *bounds), np.clip(outcome.high[row] + offset, *bounds)) if np.isfinite(offset) else (np.nan, np.nan)
        bias = float(np.mean(outcome.distribution[row])) - outcome.estimate[row] if outcome.distribution.shape[1] else np.nan
        records.append((*key, value, low, high, offset, bias))
    return pd.DataFrame(records, columns=["kind", "network", "cls", "mask_family", "metric", "value", "ci_low", "ci_high", "offset", "bias"])
