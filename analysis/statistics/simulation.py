"""Heatmap sets with known population values: the known truth of the statistics.

``simulate`` draws one data set of per-image evidence maps (55 x 56, the evidence grid) for
``networks`` networks trained on ``folds`` subject-independent folds, every network seeing
the same test subjects:

    image map = mu[n, c] + delta[n, c, k] + subject[s] + noise

- ``mu[n, c]``: the architecture's expected class map: a floor plus a blob, placed inside
  class c's mask (``effect`` > 0: a planted specificity) or at one place for every class of
  the network (``effect`` = 0: the null of no specificity), shifted per network by
  ``network_shift`` (so networks differ by a known amount);
- ``delta[n, c, k]``: the training variance of fold k's model, a zero-sum field (a broad blob
  minus a broad blob) of random sign and bounded size, standard deviation ``training_sd``;
- ``subject[s]``: a blob of fixed mass at a random one of a grid of face places, the same for
  every network and class the subject is seen in (a face looked at by every network);
- ``noise``: non-negative uniform noise of fixed total.

Every map has the same total mass and no negative pixel, so mass accuracy is linear in the maps and its population
values are exact: the expected map is known in closed form (the subject blob's expectation
is the mean over the grid of places). Classes have unequal sizes (images per subject), one
class is seen in only part of the subjects (a small cell), and one class's blob sits away
from its mask (a negative NCC).

Known truths (``SimulatedData.truth``): per network, class and metric the population value
*given the trained models* (the cells' level), and *of the architecture* (the expectation
over training: the network means', differences' and grand mean's level when several folds exist).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferlens.analysis.heatmap_set import HeatmapSet
from ferlens.analysis.statistics.seeds import seed_groups
from ferlens.evaluation.localisation.masks import MaskFamily
from ferlens.evaluation.localisation.scores import Threshold, gray_levels, score_maps
from ferlens.formats.evidence import EVIDENCE_BLOCK, EVIDENCE_HEIGHT, EVIDENCE_WIDTH, evidence_from_maps
from ferlens.formats.manifest import HeatmapManifest, RunInfo, SaliencyInfo, SelectionInfo, WarpInfo

CLASSES = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]
#: each class's mask on the evidence grid: (top, left, height, width) in evidence pixels
MASK_BOXES = ((4, 6, 10, 16), (4, 34, 10, 16), (18, 14, 10, 28), (30, 8, 8, 40), (40, 16, 10, 24), (16, 2, 30, 6))
#: images per subject and class (unequal class sizes)
IMAGES_PER_CLASS = (2, 1, 2, 3, 1, 2)
#: the class seen in only part of the subjects (a small cell), and the share of subjects showing it
SMALL_CLASS, SMALL_SHARE = 1, 0.5
#: the class whose blob sits away from its mask (a negative NCC)
AWAY_CLASS = 5
METHOD = "simulated"


@dataclass(frozen=True)
class SimulationSettings:
    """What ``simulate`` draws: ``networks`` x ``folds`` models, ``subjects`` per fold, the
    planted ``effect`` (0: null), the fold-to-fold ``training_sd``, the subject blob's mass
    share ``subject_mass``, the ``noise`` level and each network's ``network_shift`` (its blob
    moves this many evidence pixels right, which changes every score by a known amount);
    ``seeds`` > 1: each network trained that many times per fold (its own training field each,
    the same faces), labelled ``net<n>-s<seed>``."""

    networks: int = 2
    folds: int = 5
    subjects: int = 8
    effect: float = 1.0
    training_sd: float = 0.1
    subject_mass: float = 0.3
    noise: float = 0.6
    network_shift: float = 3.0
    seeds: int = 1


@dataclass
class SimulatedData:
    """One simulated data set: ``sets`` (one HeatmapSet per network and fold, with
    evidence), the mask ``family``, and the known ``truth``: {("given models", network,
    class, metric) | ("architecture", network, class, metric): value}."""

    sets: list[HeatmapSet]
    family: MaskFamily
    truth: dict[tuple, float] = field(default_factory=dict)


def evidence_masks() -> np.ndarray:
    """bool [6, 55, 56]: the classes' masks on the evidence grid."""
    masks = np.zeros((len(CLASSES), EVIDENCE_HEIGHT, EVIDENCE_WIDTH), bool)
    for c, (top, left, height, width) in enumerate(MASK_BOXES):
        masks[c, top : top + height, left : left + width] = True
    return masks


def template_family() -> MaskFamily:
    """The masks on the 275 x 224 template, each evidence pixel a block of 5 x 4 template pixels."""
    block = np.ones(EVIDENCE_BLOCK, bool)
    return {name: np.kron(mask, block).astype(bool) for name, mask in zip(CLASSES, evidence_masks(), strict=True)}


def _blob(cy: float, cx: float, width: float) -> np.ndarray:
    """float64 [55, 56]: a Gaussian of unit mass."""
    y, x = np.mgrid[:EVIDENCE_HEIGHT, :EVIDENCE_WIDTH]
    blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * width**2))
    return blob / blob.sum()


def _places() -> list[tuple[float, float]]:
    """The grid of face places a subject's blob can sit at."""
    return [(cy, cx) for cy in (10.0, 22.0, 34.0, 46.0) for cx in (10.0, 22.0, 34.0, 46.0)]


def architecture_maps(settings: SimulationSettings, rng: np.random.Generator) -> np.ndarray:
    """float64 [N, 6, 55, 56] the networks' expected class maps mu, each of mass 1."""
    boxes = np.array(MASK_BOXES, np.float64)
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    floor = np.full((EVIDENCE_HEIGHT, EVIDENCE_WIDTH), 1.0 / (EVIDENCE_HEIGHT * EVIDENCE_WIDTH))
    maps = np.empty((settings.networks, len(CLASSES), EVIDENCE_HEIGHT, EVIDENCE_WIDTH))
    null_place = rng.uniform([15, 15], [40, 40])
    for n in range(settings.networks):
        for c in range(len(CLASSES)):
            cy, cx = centres[c] if settings.effect > 0 else null_place
            if settings.effect > 0 and c == AWAY_CLASS:
                cy, cx = 50.0, 50.0  # away from its (left-edge) mask: a negative NCC
            peak = _blob(cy, cx + settings.network_shift * n, 4.0)
            share = min(settings.effect, 1.0) * 0.5 if settings.effect > 0 else 0.5
            maps[n, c] = (1 - share) * floor + share * peak
    return maps


@dataclass(frozen=True)
class _Subject:
    name: str
    fold: int
    place: int
    classes: tuple[int, ...]


def simulate(settings: SimulationSettings, rng: np.random.Generator) -> SimulatedData:
    """One data set with its known truths (see the module's docstring)."""
    mu = architecture_maps(settings, rng)
    places = [_blob(cy, cx, 5.0) for cy, cx in _places()]
    expected_subject = np.mean(places, axis=0)
    pixels = EVIDENCE_HEIGHT * EVIDENCE_WIDTH
    subjects = []
    for k in range(settings.folds):
        for s in range(settings.subjects):
            shows_small = s < max(2, int(round(SMALL_SHARE * settings.subjects)))
            classes = tuple(c for c in range(len(CLASSES)) if c != SMALL_CLASS or shows_small)
            subjects.append(_Subject(f"f{k}s{s}", k, int(rng.integers(len(places))), classes))
    base_mass = 1.0 - settings.subject_mass
    sets, truth = [], {}
    masks = evidence_masks()
    floor_part = settings.subject_mass * expected_subject + base_mass * settings.noise / pixels
    for n in range(settings.networks):
        for r in range(settings.seeds):
            label = f"net{n}" if settings.seeds == 1 else f"net{n}-s{r}"
            given = np.zeros((len(CLASSES), EVIDENCE_HEIGHT, EVIDENCE_WIDTH))
            given_images = np.zeros(len(CLASSES))
            for k in range(settings.folds):
                deltas = np.stack([_training_shift(settings.training_sd, rng) for _ in CLASSES])
                model = mu[n] + deltas  # [6, H, W], mass 1 each
                maps, target, subject_names = _images(settings, model, [s for s in subjects if s.fold == k], places, rng)
                if maps.min() < 0:
                    raise ValueError(f"training_sd={settings.training_sd} makes negative maps: mass accuracy's truths would not be exact")
                counts = np.bincount(target, minlength=len(CLASSES))
                for c in range(len(CLASSES)):
                    given[c] += counts[c] * (base_mass * (1 - settings.noise) * model[c])
                    given_images[c] += counts[c]
                index = np.arange(len(maps)) + k * 100_000  # the same image of every network has the same index
                sets.append(_heatmap_set(label, n, r, k, maps, target, subject_names, index, counts))
            _add_truths(truth, "given models", label, given / given_images[:, None, None] + floor_part, masks)
        _add_truths(truth, "architecture", f"net{n}", base_mass * (1 - settings.noise) * mu[n] + floor_part, masks)
    return SimulatedData(sets, template_family(), truth)


def _images(settings: SimulationSettings, model: np.ndarray, subjects: list[_Subject], places: list[np.ndarray], rng: np.random.Generator) -> tuple:
    """(maps float32 [I, H, W], target int64 [I], subject names [I]): every image of ``subjects``
    explained by one trained ``model`` [6, H, W] (its class maps, mass 1 each)."""
    base_mass, pixels = 1.0 - settings.subject_mass, EVIDENCE_HEIGHT * EVIDENCE_WIDTH
    maps, target, names = [], [], []
    for subject in subjects:
        for c in subject.classes:
            for _ in range(IMAGES_PER_CLASS[c]):
                noise = rng.uniform(0, 1, (EVIDENCE_HEIGHT, EVIDENCE_WIDTH))
                noise = (noise - noise.mean() + 1.0) / pixels  # mass 1, non-negative
                maps.append(base_mass * (1 - settings.noise) * model[c] + settings.subject_mass * places[subject.place] + base_mass * settings.noise * noise)
                target.append(c)
                names.append(subject.name)
    return np.array(maps, np.float32), np.array(target, np.int64), names


def _add_truths(truth: dict, level: str, network: str, expected: np.ndarray, masks: np.ndarray) -> None:
    """truth[level, network, class, metric] of the expected class maps ``expected`` [6, H, W]."""
    for c in range(len(CLASSES)):
        flat = expected[c].reshape(1, -1)
        scores = score_maps(gray_levels(flat), flat, masks[c : c + 1].reshape(1, -1), Threshold(), ranks="gray")
        for metric, values in scores.items():
            truth[level, network, CLASSES[c], metric] = float(values[0, 0])


def _training_shift(sd: float, rng: np.random.Generator) -> np.ndarray:
    """A zero-sum field of mean 0: a broad blob minus a broad blob at random places, times an
    amplitude uniform on [-sqrt(3) sd, sqrt(3) sd] (standard deviation ``sd``). Bounded, so
    that every simulated map stays non-negative (``simulate`` checks it): mass accuracy, the
    share of positive mass, is then linear in the maps and its truths exact."""
    first, second = rng.uniform(8, 47, 2), rng.uniform(8, 47, 2)
    return sd * np.sqrt(3.0) * rng.uniform(-1.0, 1.0) * (_blob(*first, 12.0) - _blob(*second, 12.0))


def _heatmap_set(
    label: str, n: int, r: int, k: int, maps: np.ndarray, target: np.ndarray, subjects: list[str], index: np.ndarray, counts: np.ndarray
) -> HeatmapSet:
    """Network ``label``'s (architecture n, seed r) fold k: its evidence, and class heatmaps on the template (each evidence
    pixel spread over its 5 x 4 block, so the template maps pool back exactly)."""
    evidence = evidence_from_maps(maps, index, target, target, target, subjects, [f"{i}.png" for i in range(len(maps))])
    means = np.stack([maps[target == c].mean(axis=0) if counts[c] else np.zeros(maps.shape[1:], np.float32) for c in range(len(CLASSES))])
    heatmaps = np.kron(means, np.ones(EVIDENCE_BLOCK, np.float32))
    run = RunInfo(id=f"{label}-{k}", name=f"{label}-fold{k + 1}", model=f"net{n}", pretrained=False, fold=k + 1, seed=r, epoch=0, dataset="simulated")
    manifest = HeatmapManifest(
        run=run,
        saliency=SaliencyInfo(key=METHOD, method=METHOD, params={}),
        selection=SelectionInfo(split="test", target="label", correct_only=False, per_class=None, seed=0),
        warp=WarpInfo(mode="nearest", triangulation="template"),
        skipped_no_landmarks=0,
        code_version="simulation",
    )
    counts_list = [int(c) for c in counts]
    origin = f"simulated {label} fold {k + 1}"
    return HeatmapSet(
        label, METHOD, k + 1, list(CLASSES), heatmaps.astype(np.float32), counts_list, False, {}, origin, manifest=manifest, evidence=evidence
    )


#: the metrics whose intervals are checked: mass accuracy (linear in the maps: every level's
#: truth exact) and NCC (positive and negative cells) at the cell level
CELL_METRICS = ("mass_accuracy", "ncc")
HEADLINE = "mass_accuracy"


def analyse(data: SimulatedData, resamples: int, seed: int):
    """(analysis, statistics) of a simulated data set with the real pipeline."""
    from ferlens.analysis.pipeline import analyze_collection
    from ferlens.analysis.sources.base import Collection
    from ferlens.analysis.statistics import StatisticsSettings, compute_statistics

    analysis = analyze_collection(Collection(sets=list(data.sets)), {"sim": data.family}, Threshold(), progress=False)
    settings = StatisticsSettings(resamples=resamples, split_halves=2, permutations=999, headline=HEADLINE, seed=seed)
    return analysis, compute_statistics(analysis, settings)


def _inside(low: float, high: float, truth: float) -> bool:
    return bool(np.isfinite(low) and np.isfinite(high) and low <= truth <= high)


#: the simulated data sets of ``coverage_of_dataset``: five folds (cells given the models; the
#: architecture's network means, differences, grand mean and fold-level means), one fold (the
#: same given the model) and one fold trained with three seeds (the architecture over seeds)
COVERAGE_PARTS = ("folds", "model", "seeds")


def coverage_of_dataset(seed: int, resamples: int = 1000, parts: tuple[str, ...] = COVERAGE_PARTS) -> dict[str, list[bool]]:
    """{interval kind: [covers its truth]} for data set ``seed``'s ``parts`` (``COVERAGE_PARTS``;
    each part the same data whichever others are run)."""
    rng = np.random.default_rng(seed)
    hits: dict[str, list[bool]] = {}
    for folds, level, suffix in ((5, "architecture", "over folds"), (1, "given models", "given the model")):
        data = simulate(SimulationSettings(folds=folds, subjects=8 if folds > 1 else 24), rng)
        if ("folds" if folds > 1 else "model") not in parts:
            continue
        _, statistics = analyse(data, resamples, seed)
        truth = data.truth
        networks = sorted({key[1] for key in truth})
        if folds > 1:
            for row in statistics.cells[statistics.cells.metric.isin(CELL_METRICS)].itertuples():
                hits.setdefault(f"cell ({row.metric})", []).append(
                    _inside(row.ci_low, row.ci_high, truth["given models", row.network, row.expression, row.metric])
                )
        means = {n: float(np.mean([truth[level, n, c, HEADLINE] for c in CLASSES])) for n in networks}
        table = statistics.means[statistics.means.metric == HEADLINE].set_index("network")
        for n in networks:
            hits.setdefault(f"network mean ({suffix})", []).append(_inside(table.loc[n, "ci_low"], table.loc[n, "ci_high"], means[n]))
        grand = table.loc["grand mean"]
        hits.setdefault(f"grand mean ({suffix})", []).append(_inside(grand.ci_low, grand.ci_high, float(np.mean(list(means.values())))))
        for row in statistics.differences[statistics.differences.metric == HEADLINE].itertuples():
            hits.setdefault(f"network difference ({suffix})", []).append(_inside(row.ci_low, row.ci_high, means[row.network] - means[row.other]))
        if folds > 1:
            for row in statistics.fold_means[statistics.fold_means.metric == HEADLINE].itertuples():
                hits.setdefault("fold-level mean", []).append(_inside(row.ci_low, row.ci_high, means[row.network]))
    if "seeds" in parts:
        hits.update(_seed_coverage(seed, resamples))
    return hits


def _seed_coverage(seed: int, resamples: int) -> dict[str, list[bool]]:
    """Coverage of the architecture's mean and difference over three seeds on 16 shared subjects (its own random stream)."""
    data = simulate(SimulationSettings(folds=1, seeds=3, subjects=16), np.random.default_rng((seed, 3)))
    _, statistics = analyse(data, resamples, seed)
    means = {n: float(np.mean([data.truth["architecture", n, c, HEADLINE] for c in CLASSES])) for n in ("net0", "net1")}
    model = {group.label: data.sets[group.members[0]].run.model for group in seed_groups(data.sets, {})}  # "net0 (scratch)" -> "net0"
    hits: dict[str, list[bool]] = {}
    for row in statistics.seeds[statistics.seeds.metric == HEADLINE].itertuples():
        if row.other:
            truth, kind = means[model[row.architecture]] - means[model[row.other]], "network difference (over seeds)"
        else:
            truth, kind = means[model[row.architecture]], "network mean (over seeds)"
        hits.setdefault(kind, []).append(_inside(row.ci_low, row.ci_high, truth))
    return hits


@dataclass(frozen=True)
class NullOutcome:
    """The tests of one pair of simulated data sets: ``specificity_rejections`` (per network,
    p <= 0.05 with no specificity, headline metric), ``planted_rejections`` (per network, p <= 0.05 with a
    planted one), ``any_claim`` (some claim significant after adjustment when none is true),
    ``rejections_by_metric`` (the null's rejections of every other metric, exploratory)."""

    specificity_rejections: list[bool]
    planted_rejections: list[bool]
    any_claim: bool
    rejections_by_metric: dict[str, list[bool]] = field(default_factory=dict)


def null_of_dataset(seed: int, resamples: int = 200) -> NullOutcome:
    """The specificity test under the null and under a planted effect, and the claims under the global null."""
    rng = np.random.default_rng(10_000 + seed)
    null = simulate(SimulationSettings(folds=1, subjects=24, effect=0.0, network_shift=0.0, training_sd=0.0), rng)
    _, statistics = analyse(null, resamples, seed)
    per_network = statistics.permutation[statistics.permutation.network != "all networks"]
    tests = per_network[per_network.metric == HEADLINE]
    others = {metric: list(group.p_value <= 0.05) for metric, group in per_network.groupby("metric") if metric != HEADLINE}
    planted = simulate(SimulationSettings(folds=1, subjects=24, effect=0.25), rng)
    _, planted_statistics = analyse(planted, resamples, seed)
    planted_tests = planted_statistics.permutation[
        (planted_statistics.permutation.metric == HEADLINE) & (planted_statistics.permutation.network != "all networks")
    ]
    return NullOutcome(list(tests.p_value <= 0.05), list(planted_tests.p_value <= 0.05), bool(statistics.claims.significant.any()), others)
