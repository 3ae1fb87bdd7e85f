import torch

from datamodules.fer_datamodule import FERDataModule
from datamodules.synthetic import SyntheticFaces


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
