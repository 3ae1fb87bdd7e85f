"""ferlens inside your own Lightning project: your LightningModule, your LightningDataModule,
plus ferlens' GlobalSaliency callback -> the heatmap artifact -> analyze.py's report.

GlobalSaliency reads (ferlens.callbacks.protocol): dataset items {"image": [3, H, W] in [0, 1],
"label": int, "landmarks": [68, 2] image pixels}, a module returning logits, class_names, and
the explained model's cam_layer. Run: python examples/own_lightning_project.py [OUTPUT_DIR]"""

import subprocess
import sys
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ferlens import GlobalSaliency
from ferlens.datamodules.synthetic import SyntheticFaces  # stands in for your faces: any images with 68 landmarks


class Faces(Dataset):
    def __init__(self, faces, positions):
        self.faces, self.positions = faces, list(positions)

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, i):
        face = self.faces[self.positions[i]]
        image = torch.from_numpy(face.image).permute(2, 0, 1).float() / 255
        return {"image": image, "label": int(face.label), "landmarks": torch.from_numpy(face.landmarks)}


class FacesData(L.LightningDataModule):
    def __init__(self):
        super().__init__()
        faces = SyntheticFaces(num_images=120, num_subjects=12, image_size=48, seed=0)
        self.class_names = faces.class_names
        self.train, self.val = Faces(faces, range(0, 120, 2)), Faces(faces, range(1, 120, 2))

    def train_dataloader(self):
        return DataLoader(self.train, batch_size=16, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val, batch_size=32)


class Net(nn.Module):
    cam_layer = "features"  # the layer whose [B, C, h, w] output the CAMs explain

    def __init__(self, classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(32, classes)

    def forward(self, images):
        return self.head(self.features(images).mean(dim=(2, 3)))


class Classifier(L.LightningModule):
    def __init__(self, class_names):
        super().__init__()
        self.class_names, self.net = class_names, Net(len(class_names))

    def forward(self, images):
        return self.net(images)

    def training_step(self, batch, _):
        return F.cross_entropy(self(batch["image"]), batch["label"])

    def validation_step(self, batch, _):
        self.log("val/acc", (self(batch["image"]).argmax(1) == batch["label"]).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "own_project_output").resolve()
    saliency = GlobalSaliency({"gradcampp": {"name": "gradcampp"}}, target="label", per_class=10, output_dir=str(out), progress=False)
    data = FacesData()
    trainer = L.Trainer(max_epochs=2, callbacks=[saliency], logger=False, enable_checkpointing=False, default_root_dir=out, enable_progress_bar=False)
    trainer.fit(Classifier(data.class_names), datamodule=data)  # writes out/heatmaps/gradcampp/
    report = ["source=local", f"source.paths=[{out}]", f"report_dir={out / 'report'}", f"hydra.run.dir={out / 'report'}", "statistics.resamples=50"]
    subprocess.run([sys.executable, "-m", "ferlens.analyze", *report, "statistics.permutations=99", "statistics.split_halves=10", "progress=false"], check=True)
