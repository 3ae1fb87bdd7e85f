"""What ``GlobalSaliency`` reads from a Lightning project, ferlens' own or anyone's.

The model: the ``LightningModule`` maps raw RGB images [B, 3, H, W] in [0, 1] to logits
[B, classes] (``forward``; it normalizes them itself). Optional: ``net`` (the ``nn.Module``
explained, else the module itself), ``class_names`` (else the datamodule's, else the callback's
``class_names``), ``cam_layer`` on the explained model (the CAM methods need it: the name of the
module whose output is [B, C, h, w]).

The data: the ``LightningDataModule``'s ``val_dataloader()`` / ``test_dataloader()`` have a
``dataset`` whose items are mappings with the keys of ``ITEM_KEYS``: ``image`` float [3, H, W]
raw RGB in [0, 1], ``label`` the class index, ``landmarks`` float [68, 2] (x, y) in that
image's pixels (iBUG/dlib order, NaN when unknown). Optional: ``class_names``, ``name``,
``fold``. ferlens' own ``FERDataModule`` (a ``dataset(split, augment, au_maps)`` method and a
``source``) is read through that method, its items carrying the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import lightning as L
import torch
from torch import nn

from ferlens.user_errors import UserError

#: The keys every dataset item carries for GlobalSaliency.
ITEM_KEYS = ("image", "label", "landmarks")
#: How to get the 68 landmarks of an image, named in the refusals.
LANDMARKS_HOW = (
    "add item['landmarks'] [68, 2] (x, y) in the image tensor's pixels, e.g. the points of "
    "ferlens.faces.prepare_face(image, FaceSettings(detector='dlib', landmarks='dlib')) scaled to your image, "
    "or let ferlens prepare the faces (data=custom with your reader)"
)


@runtime_checkable
class ExplainedDataset(Protocol):
    """A map-style dataset of mappings with the keys of ``ITEM_KEYS``."""

    def __len__(self) -> int: ...

    def __getitem__(self, position: int) -> Mapping[str, Any]: ...


def explained_model(pl_module: L.LightningModule) -> nn.Module:
    """The model explained: ``pl_module.net`` when it is an ``nn.Module``, else the module itself."""
    net = getattr(pl_module, "net", None)
    return net if isinstance(net, nn.Module) else pl_module


def class_names_of(pl_module: L.LightningModule, datamodule: object, given: Sequence[str] | None) -> list[str]:
    """The classes in label order: the module's ``class_names``, else the datamodule's, else ``given``."""
    names = getattr(pl_module, "class_names", None) or getattr(datamodule, "class_names", None) or given
    if not names:
        raise UserError(
            "GlobalSaliency does not know the class names: give your LightningModule or LightningDataModule a class_names list "
            "(in label order), or pass GlobalSaliency(class_names=[...])."
        )
    return [str(name) for name in names]


def is_ferlens_datamodule(datamodule: object) -> bool:
    """True for ferlens' ``FERDataModule`` (a ``dataset(split, augment, au_maps)`` method and a ``source``)."""
    return callable(getattr(datamodule, "dataset", None)) and hasattr(datamodule, "source")


def has_test_split(datamodule: object) -> bool:
    """Whether a datamodule other than ferlens' defines its own ``test_dataloader``."""
    method = getattr(type(datamodule), "test_dataloader", None)
    return method is not None and method is not L.LightningDataModule.test_dataloader


def split_dataset(datamodule: object, split: str) -> ExplainedDataset:
    """The dataset of the ``val`` or ``test`` split: ferlens' own without augmentation or AU
    maps, any other datamodule's loader's ``dataset``."""
    if datamodule is None:
        raise UserError("GlobalSaliency needs the run's LightningDataModule: call trainer.fit(model, datamodule=...) (or validate/test with it).")
    if is_ferlens_datamodule(datamodule):
        return datamodule.dataset(split, augment=False, au_maps=False)  # the heatmaps need no AU maps
    loader = datamodule.val_dataloader() if split == "val" else datamodule.test_dataloader()
    dataset = getattr(loader, "dataset", None)
    if not isinstance(dataset, ExplainedDataset):
        raise UserError(
            f"GlobalSaliency reads the images of the {split} split from {type(datamodule).__name__}'s {split}_dataloader().dataset, which is not a "
            "map-style dataset: return a DataLoader over a dataset with __len__ and __getitem__."
        )
    return dataset


def check_item(item: object, split: str) -> None:
    """Refuse in one sentence a dataset item that is not a mapping with ``image``, ``label`` and 68 ``landmarks``."""
    if not isinstance(item, Mapping):
        raise UserError(
            f"GlobalSaliency reads each {split} dataset item as a mapping with the keys image, label and landmarks, not a {type(item).__name__}: "
            "return a dict from your dataset's __getitem__."
        )
    absent = [key for key in ITEM_KEYS if key not in item]
    if "landmarks" in absent:
        raise UserError(
            f"GlobalSaliency needs 68 face landmarks per image to warp its map into the template, but the {split} dataset's items carry only "
            f"{', '.join(map(str, item))}: {LANDMARKS_HOW}."
        )
    if absent:
        raise UserError(f"GlobalSaliency reads each {split} dataset item's {', '.join(ITEM_KEYS)}, but its items lack {', '.join(absent)}: add them.")
    landmarks = torch.as_tensor(item["landmarks"])
    if tuple(landmarks.shape) != (68, 2):
        raise UserError(f"GlobalSaliency needs 68 landmarks [68, 2] per image, but a {split} dataset item has {list(landmarks.shape)}: {LANDMARKS_HOW}.")
