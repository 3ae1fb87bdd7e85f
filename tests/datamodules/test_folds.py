import numpy as np
import pytest

from ferlens.datamodules.folds import fold_indices, official_indices, random_indices
from ferlens.datamodules.sources import DataError
from ferlens.datamodules.synthetic import SyntheticFaces


@pytest.mark.parametrize("num_folds", [3, 5])
def test_folds_are_subject_independent_and_use_every_subject(num_folds):
    subjects = SyntheticFaces(301, 23, 32).subjects
    seen_as_test = set()
    for fold in range(1, num_folds + 1):
        splits = fold_indices(subjects, fold, num_folds, seed=0)
        groups = {name: {subjects[i] for i in idx} for name, idx in splits.items()}
        assert not groups["train"] & groups["val"] and not groups["train"] & groups["test"] and not groups["val"] & groups["test"]
        assert groups["train"] | groups["val"] | groups["test"] == set(subjects)
        assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(301))
        seen_as_test |= groups["test"]
    assert seen_as_test == set(subjects)  # every subject is tested exactly in one fold


def test_split_seed_changes_the_assignment_and_is_deterministic():
    subjects = [f"p{i}" for i in range(40)]
    a = fold_indices(subjects, 1, 5, seed=0)["test"]
    assert np.array_equal(a, fold_indices(subjects, 1, 5, seed=0)["test"])
    assert not np.array_equal(a, fold_indices(subjects, 1, 5, seed=1)["test"])


@pytest.mark.parametrize(
    ("fold", "num_folds", "message"),
    [(0, 5, "outside 1..5"), (6, 5, "outside 1..5"), (1, 2, "use 3 or more folds"), (1, 50, "Only 40 subjects")],
)
def test_bad_fold_settings_are_one_sentence(fold, num_folds, message):
    with pytest.raises(DataError, match=message):
        fold_indices([f"p{i}" for i in range(40)], fold, num_folds, seed=0)


def _official(n_train: int, n_test: int) -> list[str]:
    return ["train"] * n_train + ["test"] * n_test


def test_official_split_keeps_the_test_part_and_carves_validation_by_subject():
    subjects = [f"p{i % 20}" for i in range(200)] + [f"q{i % 5}" for i in range(50)]
    labels = np.arange(250) % 6
    splits, how = official_indices(_official(200, 50), labels, subjects, val_fraction=0.1, seed=0)
    assert splits["test"].tolist() == list(range(200, 250))
    train_subjects = {subjects[i] for i in splits["train"]}
    val_subjects = {subjects[i] for i in splits["val"]}
    assert not train_subjects & val_subjects and val_subjects  # whole subjects held out
    assert 20 <= len(splits["val"]) <= 30 and len(splits["train"]) + len(splits["val"]) == 200
    assert "training subjects held out" in how
    again, _ = official_indices(_official(200, 50), labels, subjects, val_fraction=0.1, seed=0)
    assert np.array_equal(again["val"], splits["val"])
    other, _ = official_indices(_official(200, 50), labels, subjects, val_fraction=0.1, seed=1)
    assert not np.array_equal(other["val"], splits["val"])


def test_official_split_without_subjects_is_stratified():
    labels = np.repeat(np.arange(6), [100, 20, 50, 200, 80, 50])
    official = ["train"] * len(labels) + ["test"] * 12
    splits, how = official_indices(official, np.concatenate([labels, np.arange(12) % 6]), None, val_fraction=0.2, seed=3)
    val_counts = np.bincount(labels[splits["val"]], minlength=6)
    assert val_counts.tolist() == [20, 4, 10, 40, 16, 10]  # 20 % of every class
    assert set(splits["train"]) | set(splits["val"]) == set(range(len(labels))) and not set(splits["train"]) & set(splits["val"])
    assert "stratified" in how


def test_a_small_training_split_still_gets_a_validation_set_of_the_requested_size():
    labels = np.repeat(np.arange(7), [3, 3, 3, 3, 3, 2, 2])  # 19 images: 10 % of each class rounds to none
    splits, _ = official_indices(["train"] * 19 + ["test"] * 2, np.concatenate([labels, [0, 1]]), None, val_fraction=0.1, seed=0)
    assert len(splits["val"]) == 2 and len(np.unique(labels[splits["val"]])) == 2 and len(splits["train"]) == 17
    assert all(np.bincount(labels[splits["train"]], minlength=7) >= 1)  # no class emptied from training


def test_a_shipped_validation_split_is_used_as_is():
    official = ["train", "val", "test", "train", "val", "test"]
    splits, how = official_indices(official, np.zeros(6, int), None, 0.1, 0)
    assert {k: v.tolist() for k, v in splits.items()} == {"train": [0, 3], "val": [1, 4], "test": [2, 5]}
    assert how == "the dataset's own validation split"


def test_random_split_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(6), 50)
    splits, how = random_indices(labels, 0.1, 0.2, seed=0)
    assert [np.bincount(labels[splits[s]], minlength=6).tolist() for s in ("val", "test")] == [[5] * 6, [10] * 6]
    assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(300))
    assert "not subject-independent" in how


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: official_indices(["train"] * 4, np.zeros(4, int), None, 0.1, 0), "no test part: use data.split=kfold"),
        (lambda: official_indices(["train", "test"], np.zeros(2, int), None, 1.5, 0), "must be between 0 and 1"),
        (lambda: official_indices(["train", "train", "test"], np.zeros(3, int), ["a", "a", "b"], 0.1, 0), "holds one subject"),
        (lambda: random_indices(np.zeros(10, int), 0.5, 0.6, 0), "sum below 1"),
    ],
)
def test_bad_split_settings_are_one_sentence(call, message):
    with pytest.raises(DataError, match=message):
        call()
