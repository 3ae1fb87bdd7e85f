"""Face preparation (``datamodules.face_prep.prepare_faces``) against the usual loop, and
the detection cascade against plain HOG, in the same run on the same synthetic faces
written as JPEG files.

First, 224-px faces with margin:

- the usual way (the baseline): one process decodes each file and runs
  ``faces.landmarks.detect_landmarks`` (dlib HOG detector + 68-point predictor), in a
  fresh thread so it loads dlib's models once, as a fresh script would;
- ``prepare_faces`` with ``--workers`` processes and the default settings (each loads
  dlib's models once; then per image: hash, decode, the cascade, predict, check, crop,
  store the cache entry), cold cache;
- ``prepare_faces`` again over the same index: everything from the cache.

Each process loads dlib's models once (~1 s), which dominates a few dozen images, so the
rates past that start are printed too: the baseline's loop without its model loading,
and ``prepare_faces``'s marginal rate between a run over the first third of the images
and the run over all of them (both cold).

Also the mean landmark error of the prepared points against the true ones, both in crop
pixels, and the fraction of faces found.

Last, what training reads: the prepared crops through ``data=folder``'s data module
(``PreparedFaces``: the cache, no detection; 224 px, augmentation on, 2 loader workers),
images/s against a ``resnet50`` training step at 224 px (forward, backward, SGD step,
batch 16) measured on this machine; above 1x the loader is not the bottleneck.

Then the cascade against plain HOG (the baseline: face preparation as it was before the
cascade, one HOG pass with upsample 1 on the image as it is, no landmark check) on
``--mixed`` faces where plain HOG finds about 75 %: 66 % with margin at 224 px, 34 % cropped
tight (no margin) at 32, 48, 64 and 96 px, as JPEG at quality 95 and 30; both with
``--workers`` processes, cold caches, the same run; then the cascade's cached pass. Goal:
the cascade within 3x HOG's time.

    python benchmarks/bench_face_prep.py [--images 300] [--mixed 300] [--workers 2] [--size 224] [--repeats 1] [--mixed-only]

Timings are the best of ``--repeats`` runs (each cold run in a fresh cache).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from ferlens.datamodules.face_prep import PreparedFaceSet, prepare_faces, resolve_settings  # noqa: E402
from ferlens.datamodules.face_truth import tight_crop  # noqa: E402
from ferlens.datamodules.prepared import prepared_datamodule  # noqa: E402
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex  # noqa: E402
from ferlens.datamodules.synthetic import SyntheticFaces  # noqa: E402
from ferlens.faces.detection import STEPS  # noqa: E402
from ferlens.faces.judge import RESCUES  # noqa: E402
from ferlens.faces.landmarks import detect_landmarks, face_detector, landmark_predictor  # noqa: E402
from ferlens.faces.plausibility import inter_ocular  # noqa: E402
from ferlens.faces.prepare import FaceSettings  # noqa: E402
from ferlens.formats.images import read_image  # noqa: E402
from ferlens.networks.registry import build_network  # noqa: E402

#: Face preparation before the cascade: one HOG pass (upsample 1) on the image as it is, the predictor once, no landmark check.
PLAIN_HOG = {"upsample": 1, "pad": 0, "min_side": 0, "cascade": [], "max_shape_residual": 0, "face_seen": False, "min_face": 24}
#: (side px, JPEG quality) of the tight crops of the mixed set, in turn.
TIGHT_CROPS = tuple((size, quality) for quality in (95, 30) for size in (32, 48, 64, 96))
TIGHT_SHARE = 0.34  # of the mixed set: plain HOG then finds ~75 %


def write_faces(folder: Path, count: int, size: int, tight_share: float = 0.0, seed: int = 0) -> tuple[DatasetIndex, np.ndarray]:
    """``count`` synthetic faces as JPEGs (quality 95) in ``folder`` (``tight_share`` of
    them, evenly spread, cropped tight and saved as ``TIGHT_CROPS`` in turn): the index over
    them and the true landmarks [count, 68, 2] in image pixels."""
    faces = SyntheticFaces(num_images=count, num_subjects=20, image_size=size, seed=seed)
    entries, truth = [], []
    for i in range(count):
        sample = faces[i]
        image, landmarks = sample.image, sample.landmarks
        quality, tight = 95, int((i + 1) * tight_share) - int(i * tight_share)  # 1 for every 1/tight_share-th image
        if tight:
            crop_size, quality = TIGHT_CROPS[int(i * tight_share) % len(TIGHT_CROPS)]
            image, landmarks = tight_crop(image, landmarks, crop_size)
        path = folder / faces.class_names[faces.labels[i]] / f"{sample.subject}_{i:04d}.jpg"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        entries.append(DatasetEntry(key=path.name, label=int(faces.labels[i]), path=path, subject=sample.subject))
        truth.append(landmarks)
    return DatasetIndex("synthetic-jpeg", folder, faces.class_names, entries), np.stack(truth)


def usual_loop(paths: list[Path]) -> tuple[float, float, int]:
    """(seconds in all, seconds loading dlib's models, faces found): decode + detect +
    predict per file in one fresh thread (dlib's models are per thread)."""

    def run() -> tuple[float, float, int]:
        start = time.perf_counter()
        landmark_predictor(), face_detector()
        loading = time.perf_counter() - start
        found = sum(detect_landmarks(read_image(path)).found for path in paths)
        return time.perf_counter() - start, loading, found

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(run).result()


def timed_preparation(index: DatasetIndex, settings: FaceSettings, cache: Path, workers: int) -> tuple[float, PreparedFaceSet]:
    """(seconds, result) of one ``prepare_faces`` call."""
    start = time.perf_counter()
    prepared = prepare_faces(index, settings, cache_dir=cache, workers=workers, progress=False)
    return time.perf_counter() - start, prepared


def landmark_error(prepared: PreparedFaceSet, truth: np.ndarray) -> float:
    """Mean distance between the prepared landmarks (back in source pixels by the stored
    crop affine) and the true ones, in true inter-ocular distances."""
    return float(np.mean([np.linalg.norm(prepared.source_points(int(i)) - truth[i], axis=1).mean() / inter_ocular(truth[i]) for i in prepared.usable]))


def load_time(prepared: PreparedFaceSet, repeats: int = 3) -> float:
    """Milliseconds per ``PreparedFaceSet.load`` (what training reads per sample)."""
    start = time.perf_counter()
    for _ in range(repeats):
        for i in prepared.usable:
            prepared.load(int(i))
    return (time.perf_counter() - start) / (repeats * len(prepared.usable)) * 1000


def loader_throughput(folder: Path, cache: Path, batches: int = 8) -> tuple[float, int]:
    """(images/s, detector calls) of the real-data training loader over the prepared crops
    in ``cache``: ``data=folder`` as train.py builds it (a random split, to use every image)."""
    module = prepared_datamodule(
        "folder", str(folder), face={"detector": "dlib", "landmarks": "dlib"}, cache_dir=str(cache), split="random",
        input_size=224, batch_size=32, num_workers=2, augment=True,
    )  # fmt: skip
    module.setup("fit")
    loader = module.train_dataloader()
    iterator = iter(loader)
    next(iterator)  # workers started
    start, count = time.perf_counter(), 0
    for _ in range(batches):
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            batch = next(iterator)
        count += len(batch["label"])
    return count / (time.perf_counter() - start), module.source.prepared.detector_calls


def resnet50_step_rate(batch: int = 16, steps: int = 3) -> float:
    """Images/s of resnet50 training steps at 224 px (random weights and inputs)."""
    net = build_network("resnet50", 6, pretrained=False)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    images, labels = torch.rand(batch, 3, 224, 224), torch.randint(0, 6, (batch,))

    def step() -> None:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(images), labels).backward()
        optimizer.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


def cascade_against_plain_hog(scratch: Path, count: int, workers: int, repeats: int) -> None:
    """The cascade (default settings) against plain HOG on a set where HOG finds ~75 %, same
    run, cold caches, best of ``repeats`` each (interleaved), then the cascade's cached pass."""
    folder = scratch / "mixed"
    folder.mkdir()
    index, truth = write_faces(folder, count, 224, tight_share=TIGHT_SHARE, seed=1)
    plain, cascade = resolve_settings(index, detector="dlib", landmarks="dlib", **PLAIN_HOG), resolve_settings(index, detector="dlib", landmarks="dlib")
    runs: dict[str, list[tuple[float, PreparedFaceSet]]] = {"plain": [], "cascade": []}
    for repeat in range(repeats):
        for name, settings in (("plain", plain), ("cascade", cascade)):
            runs[name].append(timed_preparation(index, settings, scratch / f"mixed-{name}-{repeat}", workers))
    (hog_time, hog), (cascade_time, prepared) = (min(runs[name], key=lambda run: run[0]) for name in ("plain", "cascade"))
    cached_time, cached = min(timed_preparation(index, cascade, scratch / "mixed-cascade-0", workers) for _ in range(repeats))
    assert cached.detector_calls == cached.predictor_calls == 0 and cached.from_cache == count
    steps = {step: sum(d["step"] == step for d in prepared.details) for step in (*STEPS, "")}
    found = sum(prepared.details[i]["step"] in STEPS for i in prepared.usable)
    tight, sizes = int(count * TIGHT_SHARE), "/".join(str(size) for size, _ in TIGHT_CROPS[:4])
    print(f"\n{count} synthetic faces, {count - tight} at 224 px with margin and {tight} cropped tight at {sizes} px (JPEG q95 and q30); {workers} workers")
    print(f"{'method':<62}{'images/s':>10}{'found':>8}{'error':>8}")
    hog_row = f"{count / hog_time:>10.1f}{len(hog.usable) / count:>8.1%}{landmark_error(hog, truth):>8.4f}"
    print(f"{'plain HOG (upsample 1, no padding, no check; baseline)':<62}{hog_row}")
    print(f"{'cascade (default face settings), cold cache':<62}{count / cascade_time:>10.1f}{found / count:>8.1%}{landmark_error(prepared, truth):>8.4f}")
    print(f"{'cascade again, from the cache':<62}{count / cached_time:>10.0f}{found / count:>8.1%}")
    print(f"cascade / plain HOG time: {cascade_time / hog_time:.2f}x (goal <= 3x); cascade steps: {steps}")
    print(f"detector runs: plain {hog.detector_calls}, cascade {prepared.detector_calls}")
    rescues = {rescue: sum(d["rescue"] == rescue for d in prepared.details) for rescue in RESCUES}
    print(f"predictor runs: plain {hog.predictor_calls}, cascade {prepared.predictor_calls}; rescues {rescues}")
    print(prepared.summary.split("; report:")[0])
    print("error: mean landmark error of the prepared faces in true inter-ocular distances")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--mixed", type=int, default=300, help="faces of the cascade-against-HOG set")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", type=int, default=224, help="side of the square synthetic images")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--mixed-only", action="store_true", help="only the cascade against plain HOG")
    args = parser.parse_args()
    if args.mixed_only:
        with tempfile.TemporaryDirectory() as scratch:
            cascade_against_plain_hog(Path(scratch), args.mixed, args.workers, args.repeats)
        return
    n, third = args.images, args.images // 3
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "images"
        folder.mkdir()
        index, truth = write_faces(folder, n, args.size)
        usual, loading, usual_found = min(usual_loop([e.path for e in index.entries]) for _ in range(args.repeats))
        settings = resolve_settings(index, detector="dlib", landmarks="dlib")
        part = DatasetIndex(index.name, folder, index.class_names, index.entries[:third])

        def fastest(run_index: DatasetIndex, caches: list[Path]) -> tuple[float, PreparedFaceSet]:
            return min((timed_preparation(run_index, settings, cache, args.workers) for cache in caches), key=lambda run: run[0])

        partial, _ = fastest(part, [Path(scratch) / f"part-{r}" for r in range(args.repeats)])
        first, prepared = fastest(index, [Path(scratch) / f"all-{r}" for r in range(args.repeats)])
        second, cached = fastest(index, [Path(scratch) / "all-0"] * args.repeats)
        error = landmark_error(prepared, truth)
        loading_ms = load_time(cached)
        loader_rate, detections = loader_throughput(folder, Path(scratch) / "all-0")
        assert cached.detector_calls == cached.predictor_calls == 0 and cached.from_cache == n
        print(f"{n} synthetic faces, {args.size}x{args.size} JPEG; default face settings (the cascade, upsample {settings.upsample}); {settings.size} px crops")
        print(f"{'method':<62}{'images/s':>10}{'found':>8}")
        print(f"{'decode + detect_landmarks, one process (baseline)':<62}{n / usual:>10.1f}{usual_found / n:>8.0%}")
        print(f"{f'prepare_faces, {args.workers} worker processes, cold cache':<62}{n / first:>10.1f}{len(prepared.usable) / n:>8.0%}")
        print(f"{'prepare_faces again, from the cache':<62}{n / second:>10.0f}{len(cached.usable) / n:>8.0%}")
        print(f"end to end: {usual / first:.2f}x over the baseline; the cache pass {first / second:.0f}x faster than the first (target >= 50x)")
        steady_usual, steady_ours = n / (usual - loading), (n - third) / (first - partial)
        print(
            f"past the start (loading dlib's models: {loading:.2f} s, once per process): baseline {steady_usual:.1f} images/s, "
            f"prepare_faces {steady_ours:.1f} images/s (marginal, {third} -> {n} images): {steady_ours / steady_usual:.2f}x"
        )
        print(f"mean landmark error of the prepared points: {error:.4f} inter-ocular distances")
        print(f"PreparedFaceSet.load (one cache entry, a {settings.size} px crop): {loading_ms:.2f} ms per face")
        print(prepared.summary.split("; report:")[0])
        step_rate = resnet50_step_rate()
        print(f"{'training reads: data=folder loader, 224 px, augmented, 2 workers':<62}{loader_rate:>10.1f}   ({detections} detections)")
        print(f"{'resnet50 training step, 224 px, batch 16 (this machine)':<62}{step_rate:>10.1f}")
        print(f"loader / training step: {loader_rate / step_rate:.1f}x (above 1x the loader is not the bottleneck)")
        cascade_against_plain_hog(Path(scratch), args.mixed, args.workers, args.repeats)


if __name__ == "__main__":
    main()
