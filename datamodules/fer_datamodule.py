"""FERDataModule: a dataset source -> train/val/test dataloaders (subject-independent k-fold,
or the dataset's official split)."""

from __future__ import annotations

import logging

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader, Dataset

from ferlens.datamodules.folds import SPLIT_MODES, fold_indices, official_indices, random_indices
from ferlens.datamodules.sources import DataError, FaceSample
from ferlens.datamodules.transforms import FaceTransform, seed_worker
from ferlens.faces.au import CODEBOOKS, au_heatmap

log = logging.getLogger(__name__)


class FERDataset(Dataset):
    """Samples ``indices`` of a source as the batch dict of docs/DESIGN.md: ``image`` [3, S, S] float,
    ``label`` int, ``landmarks`` [68, 2] float in the image tensor's pixels (NaN if
    unknown), ``subject`` str, ``index`` int (index in the source), ``position`` int (index
    in the split). With ``au_codebook``, also ``au_map`` [S, S] float in [0, 1], the AU map
    of the sample's true class drawn from its landmarks after the transform (so it moves
    with every geometric augmentation), and ``au_valid`` bool (``faces.au.au_heatmap``)."""

    def __init__(
        self,
        samples: list[FaceSample] | object,
        indices: np.ndarray,
        transform: FaceTransform,
        class_names: list[str] | None = None,
        au_codebook: str | None = None,
    ) -> None:
        self.samples = samples
        self.indices = np.asarray(indices)
        self.transform = transform
        self.class_names = class_names
        self.au_codebook = au_codebook

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> dict:
        index = int(self.indices[position])
        sample: FaceSample = self.samples[index]
        image, landmarks = self.transform(sample.image, sample.landmarks)
        item = {"image": image, "label": sample.label, "landmarks": landmarks, "subject": sample.subject, "index": index, "position": position}
        if self.au_codebook is not None:
            size = image.shape[-1]
            au_map, valid = au_heatmap(self.class_names[sample.label], landmarks.numpy(), size, size, self.au_codebook)
            item["au_map"], item["au_valid"] = torch.from_numpy(au_map), valid
        return item


class FERDataModule(L.LightningDataModule):
    """Train/val/test dataloaders over one split of a dataset source.

    Args:
        name: dataset name, used in run names and artifacts.
        source: a dataset source (``datamodules.sources``), e.g. ``SyntheticFaces`` or
            ``PreparedFaces`` (real images; its ``prepare()`` runs the cached face
            preparation, on one process per machine in ``prepare_data``).
        input_size: side of the network input, pixels (the network's own, resolved by
            train.py into ``model.input_size``).
        split: ``kfold`` (subject-independent folds; needs subject ids) or ``official``
            (the dataset's own train/test; validation carved from train) or ``random``
            (stratified, for datasets with neither: not subject-independent).
        fold: 1-based fold; test = that subject group, validation = the next one.
        num_folds: number of subject groups.
        split_seed: seed of the subject shuffle (fixed across runs for comparable folds)
            and of the validation draw of ``official``.
        val_fraction: share of the official training part held out for validation (of
            all samples, for ``random``).
        test_fraction: share of all samples held out for testing by ``random``.
        batch_size: training batch size per process; evaluation uses ``eval_batch_size``
            (default: the same).
        augment: geometric + photometric training augmentation.
        seed: the run seed; augmentation draws from it (per rank, and per worker and epoch
            in DataLoader workers), so runs with one seed repeat.
        cache_in_memory: decode/render every sample once and keep it.
        au_codebook: AU maps in the batches (``ours`` or ``authors``, ``faces.au``), or
            None for none.
        au_maps: which loaders carry them: ``eval`` (validation and test, for the AU
            metrics) or ``all`` (training too, for AU guidance).
    """

    def __init__(
        self,
        source: object,
        name: str = "data",
        input_size: int = 64,
        split: str = "kfold",
        fold: int = 1,
        num_folds: int = 5,
        split_seed: int = 0,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        augment: bool = False,
        seed: int = 0,
        cache_in_memory: bool = True,
        au_codebook: str | None = None,
        au_maps: str = "eval",
    ) -> None:
        super().__init__()
        self.source = source
        self.name = name
        self.input_size = input_size
        if split not in SPLIT_MODES:
            raise DataError(f"Unknown data.split '{split}': choose one of {', '.join(SPLIT_MODES)}.")
        self.split = split
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.fold = fold
        self.num_folds = num_folds
        self.split_seed = split_seed
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.augment = augment
        self.seed = seed
        self.cache_in_memory = cache_in_memory
        if au_codebook is not None and au_codebook not in CODEBOOKS:
            raise DataError(f"Unknown AU codebook '{au_codebook}': choose ours (corrected) or authors (Study 2's code as it is).")
        if au_maps not in ("eval", "all"):
            raise DataError(f"Unknown data.au_maps '{au_maps}': choose eval (validation and test) or all (training too).")
        self.au_codebook = au_codebook
        self.au_maps = au_maps
        self.splits: dict[str, np.ndarray] = {}
        self._samples: list[FaceSample] | object | None = None

    @property
    def class_names(self) -> list[str]:
        return list(self.source.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.source.class_names)

    @property
    def face_preparation(self) -> dict[str, dict[str, int]] | None:
        """Per class the images, prepared faces and drops of the source's face preparation
        (``PreparedFaces.class_drop``), or None for a source without one (synthetic faces)."""
        return getattr(self.source, "class_drop", None)

    def prepare_data(self) -> None:
        """Face preparation of real datasets (cached), once per machine before ``setup``."""
        if hasattr(self.source, "prepare"):
            self.source.prepare()

    def setup(self, stage: str | None = None) -> None:
        if self._samples is not None:
            return
        self.prepare_data()  # every rank: reads what local rank 0 prepared
        self.splits, how = self._split()
        check_split_coverage(self.class_names, np.asarray(self.source.labels), self.splits)
        self._samples = [self.source[i] for i in range(len(self.source))] if self.cache_in_memory else self.source
        log.info("%s\n%s; %s\n%s", self.source.describe(), self.name, how, split_table(self.class_names, np.asarray(self.source.labels), self.splits))

    def _split(self) -> tuple[dict[str, np.ndarray], str]:
        subjects = list(self.source.subjects)
        known = all(s is not None for s in subjects)
        official = getattr(self.source, "official_splits", None)
        if self.split == "random":
            return random_indices(np.asarray(self.source.labels), self.val_fraction, self.test_fraction, self.split_seed)
        if self.split == "official":
            if official is None:
                alternative = "kfold" if known else "random"
                raise DataError(f"{self.name} has no official train/test split: use data.split={alternative}.")
            return official_indices(official, np.asarray(self.source.labels), subjects if known else None, self.val_fraction, self.split_seed)
        if not known:
            hint = "data.split=official" if official is not None else "data.split=random (stratified, not subject-independent)"
            raise DataError(f"{self.name} has no subject ids, so subject-independent folds are impossible: use {hint}.")
        how = f"subject-independent fold {self.fold}/{self.num_folds} (data.split_seed={self.split_seed})"
        return fold_indices(subjects, self.fold, self.num_folds, self.split_seed), how

    def train_class_counts(self) -> torch.Tensor:
        """[C] number of training samples per class."""
        labels = np.asarray(self.source.labels)[self.splits["train"]]
        return torch.bincount(torch.from_numpy(labels), minlength=self.num_classes)

    def dataset(self, split: str, augment: bool | None = None, au_maps: bool = True) -> FERDataset:
        """The samples of ``split`` (train, val, test) with this module's transform; ``augment``
        overrides the configured augmentation; ``au_maps=False`` leaves the AU maps out."""
        rank = self.trainer.global_rank if self.trainer is not None else 0
        seed = int(np.random.SeedSequence([self.seed, rank]).generate_state(1)[0])
        transform = FaceTransform(self.input_size, self.augment if augment is None else augment, seed)
        wanted = au_maps and (split != "train" or self.au_maps == "all")
        codebook = self.au_codebook if wanted else None
        return FERDataset(self._samples, self.splits[split], transform, self.class_names, codebook)

    def _loader(self, dataset: FERDataset, batch_size: int, shuffle: bool, sampler: torch.utils.data.Sampler | None = None) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle and sampler is None,
            sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            worker_init_fn=seed_worker,
            drop_last=False,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.dataset("train"), self.batch_size, shuffle=True)

    def _eval_loader(self, split: str) -> DataLoader:
        dataset = self.dataset(split, augment=False)
        # without padding, so that every sample is evaluated exactly once across ranks
        sampler = UnrepeatedDistributedSampler(dataset, shuffle=False) if dist.is_available() and dist.is_initialized() else None
        return self._loader(dataset, self.eval_batch_size, shuffle=False, sampler=sampler)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")


#: The splits a run cannot do without: training, and validation (it chooses the checkpoint).
NEEDED_SPLITS = ("train", "val")


def check_split_coverage(class_names: list[str], labels: np.ndarray, splits: dict[str, np.ndarray]) -> list[str]:
    """Refuse a split a run needs that holds no image (``DataError``); warn, naming each class
    and its images per split, about a class that is in the data but missing from a split
    (a class folder of 1 image: no validation or test image of it, so its accuracy and
    heatmaps there are missing). Returns the warned classes."""
    counts = {split: np.bincount(labels[indices], minlength=len(class_names)) for split, indices in splits.items()}
    per_split = ", ".join(f"{split} {len(indices)}" for split, indices in splits.items())
    for split in NEEDED_SPLITS:
        if split in splits and not len(splits[split]):
            raise DataError(
                f"The {split} split would hold no image ({per_split} images): add images, or change the split (data.split, data.val_fraction, data.num_folds)."
            )
    filled = [split for split, indices in splits.items() if len(indices)]  # an empty test split (none asked for) is no gap
    present = [[bool(counts[split][c]) for split in filled] for c in range(len(class_names))]
    thin = [c for c, found in enumerate(present) if any(found) and not all(found)]
    if thin:
        named = "; ".join(f"{class_names[c]}: " + ", ".join(f"{split} {int(counts[split][c])}" for split in splits) for c in thin)
        log.warning(
            "%d class%s missing from a split (%s): accuracy and heatmaps there leave %s out; add images or choose a split that gives each class some.",
            len(thin),
            " is" if len(thin) == 1 else "es are",
            named,
            "it" if len(thin) == 1 else "them",
        )
    return [class_names[c] for c in thin]


def split_table(class_names: list[str], labels: np.ndarray, splits: dict[str, np.ndarray]) -> str:
    """Class counts per split as an aligned text table (one row per split, plus totals)."""
    width = max(len(n) for n in [*class_names, "total"])
    rows = ["split  " + " ".join(f"{n:>{width}}" for n in [*class_names, "total"])]
    for split, indices in splits.items():
        counts = np.bincount(labels[indices], minlength=len(class_names))
        rows.append(f"{split:<6} " + " ".join(f"{c:>{width}}" for c in [*counts.tolist(), len(indices)]))
    return "\n".join(rows)
