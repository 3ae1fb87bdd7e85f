"""Subject-independent k-fold splits."""

from __future__ import annotations

import numpy as np

from datamodules.sources import DataError


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
