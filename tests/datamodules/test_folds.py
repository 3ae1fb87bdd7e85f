import numpy as np
import pytest

from datamodules.folds import fold_indices
from datamodules.sources import DataError
from datamodules.synthetic import SyntheticFaces


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
