"""Heatmap artifacts and paper-layout PNGs made up for analysis tests."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from ferlens.formats.heatmap_artifact import sign_manifest, stretch, write_artifact
from ferlens.formats.manifest import HeatmapManifest, RunInfo, SaliencyInfo, SelectionInfo, WarpInfo

CLASSES = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]


def blob_maps(seed: int, classes: list[str] = CLASSES) -> np.ndarray:
    """float32 [C, 275, 224]: one Gaussian blob per class at a seed-dependent place, plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:275, :224]
    maps = []
    for _ in classes:
        cy, cx, width = rng.uniform(40, 235), rng.uniform(40, 184), rng.uniform(15, 40)
        maps.append(np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * width**2)) + rng.uniform(0, 0.1, (275, 224)))
    return np.stack(maps).astype(np.float32)


def band_masks_and_maps() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Six disjoint horizontal band masks (bool [275, 224] per class) and heatmaps that are
    their own class's band (float32 [6, 275, 224], + 0.01 x class so that no two are equal)."""
    masks = {name: np.zeros((275, 224), bool) for name in CLASSES}
    for c, name in enumerate(CLASSES):
        masks[name][40 * c : 40 * c + 40, 20:200] = True
    own = np.stack([masks[name].astype(np.float32) + 0.01 * c for c, name in enumerate(CLASSES)])
    return masks, own


def made_up_manifest(method: str = "gradcam", split: str | None = "test", **run: object) -> HeatmapManifest:
    """The manifest GlobalSaliency would give an artifact of ``method`` (its config key and
    name) over the ``split`` from the run ``run`` (``RunInfo`` fields; model, pretrained, seed
    and epoch required)."""
    return HeatmapManifest(
        run=RunInfo(**run),
        saliency=SaliencyInfo(key=method, method=method, params={}),
        selection=SelectionInfo(split=split, target="predicted", correct_only=False, per_class=100, seed=0),
        warp=WarpInfo(mode="nearest", triangulation="template"),
        skipped_no_landmarks=0,
        code_version="unknown",
    )


def make_artifact(
    directory: Path,
    model: str,
    fold: int,
    method: str = "gradcam",
    seed: int = 0,
    counts: list[int] | None = None,
    classes: list[str] = CLASSES,
    au_guidance: float | None = None,
) -> Path:
    """A verified artifact for (model, fold, method) under ``directory/heatmaps/<method>``; a
    class with count 0 has a zero map, as GlobalSaliency writes it. ``au_guidance``: the
    run's AU-guidance weight (None: not recorded, as before guidance existed)."""
    run = {"id": f"{model}{fold}", "name": f"{model}-fold{fold}", "model": model, "pretrained": model.startswith("pre"), "fold": fold, "seed": seed, "epoch": 0}
    manifest = made_up_manifest(method, **run, au_guidance=au_guidance)
    counts = counts or [10 + i for i in range(len(classes))]
    maps = blob_maps(seed, classes) * (np.array(counts) > 0)[:, None, None]
    return write_artifact(directory / "heatmaps" / method, maps, counts, classes, manifest)


def write_paper_layout(root: Path, maps_by_key: dict[tuple[str, int | None], np.ndarray], classes: list[str] = CLASSES) -> None:
    """``<Net>_<Expr>_heatmap.png`` (fold None) or ``<Net>_CV<k>_<Expr>_heatmap.png`` files."""
    root.mkdir(parents=True, exist_ok=True)
    for (network, fold), maps in maps_by_key.items():
        for name, heatmap in zip(classes, maps, strict=True):
            prefix = network if fold is None else f"{network}_CV{fold}"
            cv2.imwrite(str(root / f"{prefix}_{name}_heatmap.png"), stretch(heatmap))


def make_run(root: Path, folder: str, started: str | None, model: str = "smallcnn", maps: int = 0, split: str = "test", **run: object) -> Path:
    """Run directory ``root/folder`` with one gradcam artifact (fold 2, heatmaps ``blob_maps(maps)``)
    whose manifest names the run as GlobalSaliency does without W&B: its directory and start,
    dataset and seed, no W&B id or name; ``run`` overrides fields. Returns the artifact directory."""
    directory = make_artifact(root / folder, model, 2, seed=maps)
    manifest = json.loads((directory / "manifest.json").read_text())
    identity = {"id": None, "name": None, "dir": str((root / folder).resolve()), "started": started, "dataset": "synthetic", "seed": 42}
    manifest["run"].update({**identity, **run})
    manifest["selection"]["split"] = split
    (directory / "manifest.json").write_text(json.dumps(sign_manifest(manifest)))  # signed again after the edit
    return directory


def make_evidence_artifact(
    directory: Path,
    model: str,
    images: int = 12,
    method: str = "gradcam",
    seed: int = 0,
    noise: float = 0.3,
    subjects: int | None = 4,
    class_maps: np.ndarray | None = None,
    pretrained: bool = False,
) -> Path:
    """An artifact with per-image evidence: ``images`` per class, each the class map
    (``class_maps`` [C, 275, 224], default ``blob_maps(seed)``) plus uniform noise of
    amplitude ``noise`` (seeded), from ``subjects`` faces per class (None: subjects unknown);
    the class heatmaps are the means of those images, as GlobalSaliency writes them."""
    from ferlens.formats.evidence import evidence_from_maps, pool_to_evidence

    rng = np.random.default_rng(seed + 1000)
    class_maps = blob_maps(seed) if class_maps is None else class_maps
    blocks = rng.random((len(class_maps) * images, 55, 56), dtype=np.float32)
    per_image = np.repeat(class_maps, images, axis=0) + noise * np.repeat(np.repeat(blocks, 5, axis=1), 4, axis=2)
    target = np.repeat(np.arange(len(class_maps)), images)
    names = [f"s{(i % images) % subjects}" if subjects else "" for i in range(len(target))]
    files = [f"img{i}.png" for i in range(len(target))]
    evidence = evidence_from_maps(pool_to_evidence(per_image), np.arange(len(target)), target, target, target, names, files)
    heatmaps = np.stack([per_image[target == c].mean(axis=0) for c in range(len(class_maps))]).astype(np.float32)
    manifest = made_up_manifest(method, id=None, model=model, pretrained=pretrained, fold=1, seed=seed, epoch=0, dir=str(directory), dataset="synthetic")
    return write_artifact(directory / "heatmaps" / method, heatmaps, [images] * len(class_maps), CLASSES[: len(class_maps)], manifest, evidence)
