"""Split-half reliability of whole and class-specific maps against simulations with known variance components."""

import dataclasses

import numpy as np
import pytest

from ferlens.analysis.statistics.design import Cell
from ferlens.analysis.statistics.reliability import SplitHalfResult, spearman_brown, specific_split_halves, split_half

CLASSES, SUBJECTS, PIXELS, SIGMA = 6, 20, 1000, 1.0


def _network(
    rng: np.random.Generator, pattern: float | np.ndarray, copies: tuple[int, ...] = (1,) * CLASSES, subject: float = 1.0
) -> tuple[list[Cell], np.ndarray]:
    """One network's cells: every subject in every class (``copies[c]`` images each), its map =
    a strong shared face structure (sd 2) + the class pattern (sd ``pattern``, one or per class) + the subject's
    own face, the same in every class (sd ``subject``) + image noise (sd ``SIGMA``); and the class patterns [K, P]."""
    face = 2.0 * rng.standard_normal(PIXELS)
    patterns = np.reshape(pattern, (-1, 1)) * rng.standard_normal((CLASSES, PIXELS))
    faces = subject * rng.standard_normal((SUBJECTS, PIXELS))
    cells = []
    for c in range(CLASSES):
        units = np.repeat(np.arange(SUBJECTS), copies[c])
        values = face + patterns[c] + faces[units] + SIGMA * rng.standard_normal((len(units), PIXELS))
        cells.append(Cell(0, c, values.astype(np.float32), units, SUBJECTS))
    return cells, patterns


def _expected(patterns: np.ndarray, copies: tuple[int, ...], weights: np.ndarray) -> float:
    """Spearman-Brown of the true split-half r of class 0's specific map (class 0 minus the
    ``weights``-weighted mean of the other classes): signal = the spatial variance of that
    difference of patterns, noise = the image noise of the two half means (SUBJECTS / 2 subjects each)."""
    signal = (patterns[0] - weights @ patterns[1:]).var()
    half = SUBJECTS // 2
    noise = SIGMA**2 / (half * copies[0]) + SIGMA**2 * np.sum(weights**2 / (half * np.array(copies[1:])))
    return float(spearman_brown(signal / (signal + noise)))


EQUAL = np.full(CLASSES - 1, 1 / (CLASSES - 1))


def test_the_specific_map_is_less_reliable_than_the_whole_map_and_as_reliable_as_its_variance_components_say():
    rng = np.random.default_rng(0)
    cells, patterns = _network(rng, pattern=0.35)
    whole = split_half(cells[0], 200, rng)
    specific = specific_split_halves(cells, 200, rng)[0]
    truth = _expected(patterns, (1,) * CLASSES, EQUAL)  # 0.71
    assert whole.reliability > 0.95  # the shared face structure makes the halves agree
    assert specific.reliability == pytest.approx(truth, abs=0.04) and specific.reliability < whole.reliability - 0.2
    assert specific.r == pytest.approx(truth / (2 - truth), abs=0.04)  # Spearman-Brown inverted
    assert specific.units == SUBJECTS == whole.units


def test_a_pure_noise_class_pattern_has_a_specific_reliability_near_zero():
    rng = np.random.default_rng(1)
    cells, _ = _network(rng, pattern=0.0)
    assert split_half(cells[0], 200, rng).reliability > 0.95
    assert abs(specific_split_halves(cells, 200, rng)[0].reliability) < 0.12


def test_one_halving_of_the_subjects_serves_every_class_so_their_own_faces_cancel():
    rng = np.random.default_rng(2)
    cells, patterns = _network(rng, pattern=0.35, subject=2.0)
    truth = _expected(patterns, (1,) * CLASSES, EQUAL)
    assert specific_split_halves(cells, 200, rng)[0].reliability == pytest.approx(truth, abs=0.04)
    # the same subjects numbered differently in each class: the halves no longer match and the faces stay in the specific map
    shuffled = [dataclasses.replace(cell, units=rng.permutation(SUBJECTS)[cell.units]) for cell in cells[1:]]
    assert specific_split_halves([cells[0], *shuffled], 200, rng)[0].reliability < truth - 0.15


def test_the_prior_weights_classes_equally_not_by_image_count():
    rng = np.random.default_rng(3)
    copies = (1, 1, 1, 1, 1, 6)  # the last class holds six images per subject ...
    cells, patterns = _network(rng, pattern=np.array([0.35, 0.35, 0.35, 0.35, 0.35, 1.0]), copies=copies)  # ... and a strong pattern
    counts = np.array(copies[1:], float)
    equal, by_images = _expected(patterns, copies, EQUAL), _expected(patterns, copies, counts / counts.sum())
    measured = specific_split_halves(cells, 200, rng)[0].reliability
    assert measured == pytest.approx(equal, abs=0.04) and abs(measured - by_images) > 0.08


def test_undefined_reliabilities_are_nan_and_misuse_is_refused():
    rng = np.random.default_rng(4)
    cells, _ = _network(rng, pattern=0.35)
    assert np.isnan(specific_split_halves(cells[:1], 10, rng)[0].reliability)  # no other class, no prior
    one = Cell(0, 0, cells[0].values[:1], np.zeros(1, np.int64), 1)
    assert np.isnan(split_half(one, 10, rng).r) and np.isnan(specific_split_halves([one, *cells[1:]], 10, rng)[0].reliability)
    with pytest.raises(ValueError, match="distinct classes of one network"):
        specific_split_halves([cells[0], *cells[:2]], 10, rng)
    with pytest.raises(dataclasses.FrozenInstanceError):
        split_half(cells[0], 10, rng).r = 1.0  # type: ignore[misc]
    assert isinstance(split_half(cells[0], 10, rng), SplitHalfResult)
