import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from ferlens.datamodules.fer_datamodule import FERDataModule
from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.datamodules.transforms import seed_worker


def test_batches_follow_the_sample_contract():
    module = FERDataModule(SyntheticFaces(121, 13, 48), input_size=40, num_folds=4, batch_size=8)
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert batch["image"].shape == (8, 3, 40, 40) and batch["image"].dtype == torch.float32
    assert batch["landmarks"].shape == (8, 68, 2) and batch["label"].dtype == torch.int64
    assert len(batch["subject"]) == 8 and isinstance(batch["subject"][0], str)
    assert ((batch["landmarks"] >= 0) & (batch["landmarks"] <= 39)).all()
    sizes = {split: len(module.dataset(split)) for split in ("train", "val", "test")}
    assert sum(sizes.values()) == 121 and all(sizes.values())
    seen = torch.cat([b["index"] for b in module.val_dataloader()])
    assert sorted(seen.tolist()) == sorted(module.splits["val"].tolist())
    assert module.train_class_counts().sum() == sizes["train"]
    assert module.face_preparation is None  # no face preparation for the rendered faces (the manifest records None)


def _first_batch(seed: int, num_workers: int) -> dict:
    L.seed_everything(seed, workers=True)
    module = FERDataModule(SyntheticFaces(40, 8, 48, seed=5), input_size=40, num_folds=4, batch_size=8, augment=True, seed=seed, num_workers=num_workers)
    module.setup("fit")
    return next(iter(module.train_dataloader()))


def test_two_runs_with_one_seed_give_identical_first_batches():
    for workers in (0, 2):
        first, again = _first_batch(3, workers), _first_batch(3, workers)
        assert torch.equal(first["index"], again["index"])
        assert torch.equal(first["image"], again["image"]) and torch.equal(first["landmarks"], again["landmarks"])
    assert not torch.equal(_first_batch(4, 0)["image"], _first_batch(3, 0)["image"])


def test_two_workers_draw_different_augmentations():
    """Every worker gets the same image: forked workers must not repeat each other's draws."""
    L.seed_everything(0, workers=True)
    module = FERDataModule(SyntheticFaces(40, 8, 48, seed=5), input_size=40, num_folds=4, augment=True, seed=0, num_workers=2)
    module.setup("fit")
    dataset = module.dataset("train")
    dataset.indices = np.full(4, dataset.indices[0])  # one image, four times
    loader = DataLoader(dataset, batch_size=1, num_workers=2, worker_init_fn=seed_worker)
    images = [batch["image"][0] for batch in loader]  # worker 0, worker 1, worker 0, worker 1
    assert not torch.equal(images[0], images[1])
    assert not torch.equal(images[0], images[2])  # a worker's stream moves on between samples


class _Anonymous(SyntheticFaces):
    """Synthetic faces with no subject ids, and an official split when given one."""

    def __init__(self, official: list[str] | None = None) -> None:
        super().__init__(60, 10, 32)
        self.official_splits = official

    @property
    def subjects(self) -> list[None]:
        return [None] * self.num_images


def test_split_modes_and_their_one_sentence_refusals(caplog):
    import pytest

    from ferlens.datamodules.sources import DataError

    with pytest.raises(DataError, match="has no subject ids, so subject-independent folds are impossible: use data.split=random"):
        FERDataModule(_Anonymous(), name="anon").setup()
    with pytest.raises(DataError, match="has no subject ids.*use data.split=official"):
        FERDataModule(_Anonymous(["train"] * 50 + ["test"] * 10), name="anon").setup()
    with pytest.raises(DataError, match="has no official train/test split: use data.split=kfold"):
        FERDataModule(SyntheticFaces(60, 10, 32), split="official").setup()
    with pytest.raises(DataError, match="Unknown data.split 'loso': choose one of kfold, official, random"):
        FERDataModule(SyntheticFaces(60, 10, 32), split="loso")
    module = FERDataModule(_Anonymous(["train"] * 50 + ["test"] * 10), name="anon", split="official", val_fraction=0.2)
    with caplog.at_level("INFO"):
        module.setup()
    assert module.splits["test"].tolist() == list(range(50, 60)) and len(module.splits["val"]) == 10
    summary = caplog.text
    assert "stratified random 20% of the training images" in summary
    assert "Happiness" in summary and "\ntest " in summary and summary.rstrip().endswith("10")  # class counts per split, totals
    random = FERDataModule(_Anonymous(), name="anon", split="random")
    random.setup()
    assert sum(len(v) for v in random.splits.values()) == 60


class _OneFear(SyntheticFaces):
    """Synthetic faces whose Fear class holds one image (a class folder of 1 image)."""

    def __init__(self) -> None:
        super().__init__(60, 10, 32)

    @property
    def labels(self) -> np.ndarray:
        labels = super().labels.copy()
        fear = np.flatnonzero(labels == self.class_names.index("Fear"))
        labels[fear[1:]] = self.class_names.index("Happiness")
        return labels


def test_a_class_missing_from_a_split_is_named_with_its_counts_and_an_empty_needed_split_refused(caplog):
    import re

    import pytest

    from ferlens.datamodules.fer_datamodule import check_split_coverage
    from ferlens.datamodules.sources import DataError

    module = FERDataModule(_OneFear(), name="thin", split="random", cache_in_memory=False)
    with caplog.at_level("WARNING"):
        module.setup()
    counts = {split: int((module.source.labels[indices] == 2).sum()) for split, indices in module.splits.items()}
    assert sum(counts.values()) == 1
    named = ", ".join(f"{split} {count}" for split, count in counts.items())
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"1 class is missing from a split (Fear: {named}): accuracy and heatmaps there leave it out; "
        "add images or choose a split that gives each class some."
    ]
    labels = np.array([0, 1, 0, 1])
    with pytest.raises(DataError, match=re.escape("The val split would hold no image (train 4, val 0, test 0 images): add images, or change the split")):
        check_split_coverage(["Anger", "Disgust"], labels, {"train": np.arange(4), "val": np.array([], int), "test": np.array([], int)})
    assert check_split_coverage(["Anger", "Disgust"], labels, {"train": np.array([0, 1]), "val": np.array([2, 3]), "test": np.array([], int)}) == []
