"""Known truth for real photos end to end: synthetic faces written to disk as 224-px JPEGs in
the folder layout go through face preparation (dlib), training and GlobalSaliency; the
explanation pass must explain >= 95 % of the validation images, and its heatmaps must match
(Pearson r >= 0.9 per class) those of the same checkpoint run in memory on the same faces
with their true landmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from ferlens.datamodules.synthetic import SyntheticFaces
from tests.conftest import ROOT

NUM_IMAGES, NUM_SUBJECTS = 480, 24
# CAM-COS (a backward pass per validation epoch) is not what this test checks
COMMON = [
    "data.num_folds=4",
    "logger=none",
    "test=false",
    "model.au_metrics.cam=null",
    "callbacks.global_saliency.target=label",
    "callbacks.global_saliency.progress=false",
]


def _train(*overrides: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "train.py", *overrides, *COMMON], cwd=ROOT, capture_output=True, text=True, timeout=900, env={**os.environ, "WANDB_MODE": "offline"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_on_disk_faces_are_explained_and_match_the_in_memory_heatmaps(tmp_path):
    faces = SyntheticFaces(num_images=NUM_IMAGES, num_subjects=NUM_SUBJECTS, image_size=224, seed=0)
    for index in range(NUM_IMAGES):
        sample = faces[index]
        folder = tmp_path / "data" / faces.class_names[sample.label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{sample.subject}_{index:04d}.jpg"), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])

    disk = tmp_path / "disk"
    fitted = _train(
        "data=folder",
        f"data.root={tmp_path / 'data'}",
        f"data.cache_dir={tmp_path / 'cache'}",
        "data.batch_size=32",
        "trainer.max_epochs=10",
        f"paths.output_dir={disk}",
    )
    (best,) = (disk / "checkpoints").glob("epoch*.ckpt")
    prepared = [line for line in fitted.stdout.splitlines() if f": {NUM_IMAGES} images -> " in line]
    assert len(prepared) == 1 and not prepared[0].startswith("["), prepared  # printed once, in the data summary, with no log prefix
    memory = tmp_path / "memory"
    _train(
        "data=synthetic",
        f"data.source.num_images={NUM_IMAGES}",
        f"data.source.num_subjects={NUM_SUBJECTS}",
        "data.source.image_size=224",
        "train=false",
        f"init_from={best}",
        f"paths.output_dir={memory}",
    )

    on_disk, in_memory = (json.loads((run / "heatmaps/gradcampp/manifest.json").read_text()) for run in (disk, memory))
    assert on_disk["skipped_no_landmarks"] == 0 and on_disk["weights"]["source"] == "best checkpoint"
    # face preparation's drop per class is in the manifest of the real-photo run (none for the rendered faces)
    drops = on_disk["face_preparation"]
    assert list(drops) == on_disk["classes"] and sum(c["images"] for c in drops.values()) == NUM_IMAGES and in_memory["face_preparation"] is None
    assert all(c["prepared"] + c["dropped"] == c["images"] and c["dropped"] <= 0.05 * c["images"] for c in drops.values()), drops
    explained, validation_images = sum(on_disk["counts"].values()), sum(in_memory["counts"].values())
    assert validation_images >= 100 and explained >= 0.95 * validation_images, (on_disk["counts"], in_memory["counts"])
    heatmaps_disk, heatmaps_memory = (np.load(run / "heatmaps/gradcampp/heatmaps.npy") for run in (disk, memory))
    assert heatmaps_disk.shape == heatmaps_memory.shape == (6, 275, 224)
    correlations = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(heatmaps_disk, heatmaps_memory, strict=True)]
    assert min(correlations) >= 0.9, correlations
    assert all(heatmap.max() > 0 for heatmap in heatmaps_disk)
