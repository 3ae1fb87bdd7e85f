"""Face preparation's worker pool: one entry at a time (hash, look up, else
``faces.prepare.prepare_face`` and store), in this process or in forked or spawned worker
processes that load dlib's models once."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ferlens.datamodules.face_prep.cache_entries import DETAILS, MEASURES, NO_DETAILS, Box, DamagedEntry, entry_file, entry_key, read_entry, write_entry
from ferlens.faces.landmarks import cnn_has_run
from ferlens.faces.prepare import STATUS_UNREADABLE, FaceSettings, PreparedFace, load_models, prepare_face
from ferlens.formats.images import decode_image


@dataclass(frozen=True)
class Job:
    """An entry to prepare. ``content`` None: hash the file, and take its cache entry if
    one exists. ``damaged``: its cache entry was found damaged (counted as rebuilt)."""

    position: int
    path: str | None
    pixels: np.ndarray | None
    content: str | None
    box: Box | None
    landmarks: np.ndarray | None
    damaged: bool


@dataclass(frozen=True)
class Outcome:
    """An entry's result. ``key`` None when the file could not be read (nothing cached);
    ``stat`` of the cache file when it was written or read in full (to record), else None."""

    position: int
    content: str | None
    key: str | None
    status: str
    box: Box | None
    faces: int
    cached: bool
    rebuilt: bool = False
    stat: tuple[int, int] | None = None
    detector_calls: int = 0
    predictor_calls: int = 0
    details: dict = field(default_factory=lambda: dict(NO_DETAILS))
    folder: Path | None = None  # the cache folder, when not the settings' own (the whole-image fallback of tight crops)


def prepare_entry(job: Job, settings: FaceSettings, folder: Path) -> Outcome:
    """Hash (when needed), look up, else prepare and store one entry."""
    content, data = job.content, None
    if job.pixels is None:
        try:
            data = Path(job.path).read_bytes()
        except OSError:
            return Outcome(job.position, None, None, STATUS_UNREADABLE, None, 0, cached=False)
        content = content or hashlib.sha256(data).hexdigest()
    key = entry_key(content, job.box, job.landmarks)
    file = entry_file(folder, key)
    damaged = job.damaged
    if job.content is None:
        try:
            status, faces, box, details, stat = read_entry(file)
            return Outcome(job.position, content, key, status, box, faces, cached=True, stat=stat, details=details)
        except FileNotFoundError:
            pass
        except DamagedEntry:
            damaged = True
    image = job.pixels if job.pixels is not None else decode_image(data)
    face = prepare_face(image, settings, job.box, job.landmarks)
    details = _details(face)
    stat = write_entry(file, face, details)
    calls = (face.detector_calls, face.predictor_calls)
    return Outcome(job.position, content, key, face.status, face.box, face.face_count, False, damaged, stat, *calls, details)


def _details(face: PreparedFace) -> dict:
    """A face's ``DETAILS`` as JSON-ready values (NaN measures as None)."""
    details = {key: getattr(face, key) for key in DETAILS}
    for key in MEASURES:
        details[key] = None if np.isnan(details[key]) else round(float(details[key]), 6)
    return details


_worker: tuple[FaceSettings, Path] | None = None  # a worker process's settings and cache folder


def _start_worker(settings: FaceSettings, folder: Path) -> None:
    """Pool initializer: keep the settings and load dlib's models once per process."""
    global _worker
    _worker = (settings, folder)
    load_models(settings)  # no-op when forked from a process that loaded them


def _run_job(job: Job) -> Outcome:
    return prepare_entry(job, *_worker)


def run(jobs: list[Job], settings: FaceSettings, folder: Path, workers: int | None, progress: bool, name: str) -> Iterator[Outcome]:
    """The jobs' outcomes in order: in this process for one worker (or one job), else in a
    pool of processes. On Linux the pool forks this process after it loaded dlib's models,
    so the workers share them instead of loading ~100 MB each (~1 s); elsewhere, and when
    this process has run dlib's CNN (a forked copy would hang in it), each spawned worker
    loads its own."""
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    with tqdm(total=len(jobs), desc=f"{name}: preparing faces", unit="image", disable=not progress or not jobs) as bar:
        if workers <= 1:
            for job in jobs:
                yield prepare_entry(job, settings, folder)
                bar.update()
            return
        method = "fork" if sys.platform.startswith("linux") and not cnn_has_run() else "spawn"
        if method == "fork":
            load_models(settings)
        context = multiprocessing.get_context(method)
        chunk = max(1, min(32, len(jobs) // (workers * 16)))
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(settings, folder)) as pool:
            for outcome in pool.map(_run_job, jobs, chunksize=chunk):
                yield outcome
                bar.update()
