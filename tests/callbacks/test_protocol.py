"""GlobalSaliency in someone else's Lightning project (``callbacks.protocol``): a plain
LightningModule and LightningDataModule whose dataset items carry image, label and landmarks
get the artifact whose heatmaps are the per-class means of the warped maps; each missing
piece is one sentence."""

from __future__ import annotations

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ferlens.callbacks.global_saliency import GlobalSaliency
from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.warp import TemplateWarper
from ferlens.formats.heatmap_artifact import read_artifact
from ferlens.saliency import build_explainer
from ferlens.user_errors import UserError

FACES = SyntheticFaces(num_images=36, num_subjects=6, image_size=32, seed=0)


def _item(index: int, keys: tuple[str, ...] = ("image", "label", "landmarks")) -> dict:
    face = FACES[index]
    item = {"image": torch.from_numpy(face.image).permute(2, 0, 1).float() / 255, "label": int(face.label), "landmarks": torch.from_numpy(face.landmarks)}
    return {key: item[key] for key in keys}


class Data(L.LightningDataModule):
    def __init__(self, keys: tuple[str, ...] = ("image", "label", "landmarks")) -> None:
        super().__init__()
        self.items = [_item(i, keys) for i in range(len(FACES))]

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.items, batch_size=8)


class Net(nn.Module):
    cam_layer = "features"

    def __init__(self, classes: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(8, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).mean(dim=(2, 3)))


class Module(L.LightningModule):
    def __init__(self, classes: int = 6, class_names: list[str] | None = None) -> None:
        super().__init__()
        self.net = Net(classes)
        if class_names is not None:
            self.class_names = class_names

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    def validation_step(self, batch: dict, _index: int) -> None:
        self.log("val/loss", F.cross_entropy(self(batch["image"]), batch["label"]))


def _validate(tmp_path, module: L.LightningModule, data: L.LightningDataModule, **options) -> GlobalSaliency:
    callback = GlobalSaliency({"gradcam": {"name": "gradcam"}}, target="label", per_class=None, output_dir=str(tmp_path), progress=False, **options)
    quiet = {"enable_checkpointing": False, "enable_progress_bar": False, "enable_model_summary": False}
    trainer = L.Trainer(callbacks=[callback], logger=False, accelerator="cpu", **quiet)
    trainer.validate(module, datamodule=data, verbose=False)
    return callback


def test_a_plain_lightning_project_gets_the_per_class_means_of_the_warped_maps(tmp_path):
    module = Module(class_names=list(FACES.class_names))
    _validate(tmp_path, module, Data())
    artifact = read_artifact(tmp_path / "heatmaps" / "gradcam")
    images = torch.stack([_item(i)["image"] for i in range(len(FACES))])
    labels = torch.as_tensor([FACES[i].label for i in range(len(FACES))])
    landmarks = torch.stack([_item(i)["landmarks"] for i in range(len(FACES))])
    warped = TemplateWarper().to_template(build_explainer("gradcam")(module.net, images, labels), landmarks).numpy()
    expected = np.stack([warped[labels.numpy() == c].mean(axis=0) for c in range(6)])
    np.testing.assert_allclose(np.load(tmp_path / "heatmaps" / "gradcam" / "heatmaps.npy"), expected, rtol=1e-4, atol=1e-6)
    assert dict(artifact.manifest.counts) == {name: int((labels == c).sum()) for c, name in enumerate(FACES.class_names)}
    assert (artifact.manifest.run.model, artifact.manifest.run.input_size, artifact.manifest.selection.split) == ("Net", 32, "val")


def test_the_class_names_may_come_from_the_callback_and_must_match_the_logits(tmp_path):
    _validate(tmp_path, Module(), Data(), class_names=list(FACES.class_names))
    assert list(read_artifact(tmp_path / "heatmaps" / "gradcam").manifest.classes) == list(FACES.class_names)
    with pytest.raises(UserError, match=r"^GlobalSaliency does not know the class names: give your LightningModule or LightningDataModule a class_names"):
        _validate(tmp_path / "none", Module(), Data())
    with pytest.raises(UserError, match=r"^GlobalSaliency got outputs \[16, 7\] from the model for 6 classes: the model must return logits \[B, 6\]"):
        _validate(tmp_path / "seven", Module(classes=7), Data(), class_names=list(FACES.class_names))


def test_items_without_landmarks_are_told_how_to_get_them(tmp_path):
    refusal = r"^GlobalSaliency needs 68 face landmarks per image .* carry only image, label: add item\['landmarks'\] .*prepare_face"
    with pytest.raises(UserError, match=refusal):
        _validate(tmp_path, Module(class_names=list(FACES.class_names)), Data(keys=("image", "label")))
