"""Train/validation/test splits: subject-independent k-fold, the dataset's official split
with a validation set carved from its training part, or (for datasets with neither subject
ids nor an official split, such as ExpW) a stratified random split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ferlens.datamodules.sources import DataError

#: ``data.split`` choices.
SPLIT_MODES = ("kfold", "official", "random")


def subject_groups(subjects: list[str], num_folds: int, seed: int) -> dict[str, int]:
    """Assign every distinct subject to one of ``num_folds`` groups (sizes differ by at most
    one subject), shuffled by ``seed``."""
    unique = sorted(set(subjects))
    order = np.random.default_rng(seed).permutation(len(unique))
    return {unique[i]: rank % num_folds for rank, i in enumerate(order)}


def fold_indices(subjects: list[str], fold: int, num_folds: int, seed: int) -> dict[str, np.ndarray]:
    """Sample indices of the train/val/test splits of 1-based ``fold``: test is group
    ``fold``, validation the next group (cyclically), train all others. No subject is in
    two splits and every subject is in one."""
    if num_folds < 3:
        raise DataError(f"data.num_folds={num_folds} leaves no room for separate train, validation and test subjects: use 3 or more folds.")
    if not 1 <= fold <= num_folds:
        raise DataError(f"data.fold={fold} is outside 1..{num_folds}: pick a fold between 1 and data.num_folds.")
    groups = subject_groups(subjects, num_folds, seed)
    if len(groups) < num_folds:
        raise DataError(f"Only {len(groups)} subjects for {num_folds} folds: use data.num_folds <= {len(groups)} or a dataset with more subjects.")
    group_of = np.array([groups[s] for s in subjects])
    test_group, val_group = fold - 1, fold % num_folds
    return {
        "train": np.flatnonzero((group_of != test_group) & (group_of != val_group)),
        "val": np.flatnonzero(group_of == val_group),
        "test": np.flatnonzero(group_of == test_group),
    }


def official_indices(
    official: Sequence[str], labels: np.ndarray, subjects: Sequence[str | None] | None, val_fraction: float, seed: int
) -> tuple[dict[str, np.ndarray], str]:
    """The dataset's own split. Its ``val`` part is used when it has one (FER2013's
    PublicTest); otherwise validation is carved from ``train``: whole subjects when every
    sample has one (about ``val_fraction`` of the training samples), else a per-class
    stratified random ``val_fraction``, drawn with ``seed``. Returns the indices and a
    phrase saying how validation was made."""
    official = np.asarray(official)
    if not 0 < val_fraction < 1:
        raise DataError(f"data.val_fraction={val_fraction} must be between 0 and 1 (e.g. 0.1).")
    if not (official == "test").any():
        raise DataError("The dataset's official split has no test part: use data.split=kfold.")
    if (official == "val").any():
        return {name: np.flatnonzero(official == name) for name in ("train", "val", "test")}, "the dataset's own validation split"
    train = np.flatnonzero(official == "train")
    rng = np.random.default_rng(seed)
    if subjects is not None and all(s is not None for s in subjects):
        train_subjects = np.asarray(subjects, dtype=object)[train]
        unique, sizes = np.unique(train_subjects.astype(str), return_counts=True)
        if len(unique) < 2:
            raise DataError("The official training split holds one subject, so no subject can be held out for validation: use data.split=kfold.")
        chosen: list[str] = []
        held = 0
        for position in rng.permutation(len(unique)):
            if held >= val_fraction * len(train) or len(chosen) == len(unique) - 1:
                break
            chosen.append(unique[position])
            held += int(sizes[position])
        held_out = np.isin(train_subjects.astype(str), chosen)
        how = f"{len(chosen)} of the {len(unique)} training subjects held out (data.val_fraction={val_fraction:g}, data.split_seed={seed})"
    else:
        held_out = _stratified_draw(labels[train], val_fraction, rng)
        how = f"a stratified random {val_fraction:.0%} of the training images (no subject ids; data.split_seed={seed})"
    return {"train": train[~held_out], "val": np.sort(train[held_out]), "test": np.flatnonzero(official == "test")}, how


def _stratified_draw(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """[N] bool: ``round(fraction * N)`` images (at least one when N >= 2) drawn at random,
    shared among the classes in proportion to their sizes (largest remainders first, ties
    at random), each class keeping at least one image undrawn."""
    drawn = np.zeros(len(labels), bool)
    classes, sizes = np.unique(labels, return_counts=True)
    if len(labels) < 2:
        return drawn
    total = max(1, int(round(fraction * len(labels))))
    quotas = fraction * sizes
    counts = np.minimum(np.floor(quotas).astype(int), sizes - 1)
    order = sorted(rng.permutation(len(classes)), key=lambda c: -(quotas[c] - np.floor(quotas[c])))
    for position in order + order:  # remainders first, then any class with room left
        if counts.sum() >= total:
            break
        if counts[position] < sizes[position] - 1:
            counts[position] += 1
    for label, count in zip(classes, counts, strict=True):
        drawn[rng.choice(np.flatnonzero(labels == label), size=count, replace=False)] = True
    return drawn


def random_indices(labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> tuple[dict[str, np.ndarray], str]:
    """Stratified random train/val/test for datasets with neither subject ids nor an official
    split: the same person may appear in several splits, which the returned phrase says."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DataError(f"data.val_fraction={val_fraction} and data.test_fraction={test_fraction} must be between 0 and 1 and sum below 1.")
    rng = np.random.default_rng(seed)
    test = _stratified_draw(labels, test_fraction, rng)
    rest = np.flatnonzero(~test)
    val = np.zeros(len(labels), bool)
    val[rest[_stratified_draw(labels[rest], val_fraction / (1 - test_fraction), rng)]] = True
    splits = {"train": np.flatnonzero(~test & ~val), "val": np.flatnonzero(val), "test": np.flatnonzero(test)}
    return splits, f"stratified random split (not subject-independent: no subject ids; data.split_seed={seed})"
