"""Face preparation of a dataset: the settings resolved for its index, the run over every
entry (cache lookups, the worker pool, the tight-crop fallback, the report) and the
``PreparedFaceSet`` the training source reads crops from."""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from ferlens.datamodules.face_prep.cache_entries import Box, entry_file, entry_key, pixels_hash
from ferlens.datamodules.face_prep.cache_index import Store, default_cache_dir, settings_digest
from ferlens.datamodules.face_prep.report import class_bias_message, class_counts, entry_name, percent, status_counts, summary_line, write_report
from ferlens.datamodules.face_prep.tight_crops import TightDecision, tight_crops, whole_image_for_misses
from ferlens.datamodules.face_prep.workers import Job, Outcome, run
from ferlens.datamodules.readers.base import DatasetIndex
from ferlens.datamodules.sources import DataError
from ferlens.faces.prepare import USABLE, FaceSettings

log = logging.getLogger(__name__)

def resolve_settings(index: DatasetIndex, detector: str | None = None, landmarks: str | None = None, **rest: object) -> FaceSettings:
    """``FaceSettings`` for ``index``: null landmarks are the dataset's own when every
    entry ships 68 points, else dlib's; a null detector is "box" when the dataset's own
    points are used (their box, when no face box ships), else the dataset's default. ``rest``
    are the other ``FaceSettings`` fields (upsample, margin, ...)."""
    known = [f.name for f in fields(FaceSettings) if f.name not in ("detector", "landmarks")]
    unknown = [key for key in rest if key not in known]
    if unknown:
        raise DataError(f"Face preparation has no setting {', '.join(unknown)}: its settings are detector, landmarks, {', '.join(known)}.")
    landmarks = landmarks or ("dataset" if index.has_landmarks else "dlib")
    detector = detector or ("box" if landmarks == "dataset" else index.default_detector)
    total = len(index.entries)
    if landmarks == "dataset" and not index.has_landmarks:
        missing = sum(e.landmarks is None for e in index.entries)
        raise DataError(
            f"face.landmarks=dataset needs the dataset's 68 landmarks, but {missing} of {total} {index.name} images lack them: set face.landmarks=dlib."
        )
    if detector == "box" and not index.has_boxes and landmarks != "dataset":
        missing = sum(e.box is None for e in index.entries)
        raise DataError(f"face.detector=box needs the dataset's own face boxes, but {missing} of {total} {index.name} images lack one: set face.detector=dlib.")
    return FaceSettings(detector=detector, landmarks=landmarks, **rest)


@dataclass
class PreparedFaceSet:
    """The prepared faces of one index, entry by entry (``DatasetIndex.entries`` order).

    Args:
        statuses: per entry its status (``faces.prepare.STATUSES``).
        boxes: per entry its face box (left, top, right, bottom) in source pixels, or None.
        usable: int64 [K] indices of the entries with a crop, ascending.
        summary: one line: images, faces prepared, skipped by status, cache, report.
        class_counts: per class (every class of the index, in order) its "images",
            "prepared" and "dropped" counts.
        class_bias: the one-sentence warning about uneven drops across classes, or None.
        details: per entry its ``DETAILS`` (step, rescue, pad, points outside, the plausibility measures).
        report_path: the per-image CSV report.
        detector_calls: dlib detector runs of this call, summed over the workers.
        predictor_calls: dlib predictor runs of this call, summed over the workers.
        rebuilt: damaged cache entries found and prepared again.
        from_cache: entries taken from the cache as they were.
        files: per entry its cache file, or None when the image file could not be read.
        dropped_by_status: why images were dropped, status x class (``report.status_counts``).
        decision: whether the set was taken for tight crops, and why.
    """

    statuses: list[str]
    boxes: list[Box | None]
    usable: np.ndarray
    summary: str
    class_counts: dict[str, dict[str, int]]
    class_bias: str | None
    details: list[dict]
    report_path: Path
    detector_calls: int
    predictor_calls: int
    rebuilt: int
    from_cache: int
    files: list[Path | None]
    dropped_by_status: dict[str, dict[str, int]]
    decision: TightDecision

    def load(self, entry_index: int) -> tuple[np.ndarray, np.ndarray]:
        """The crop, uint8 [S, S, 3] RGB, and its landmarks, [68, 2] float32 in crop pixels,
        of a usable entry (one uncompressed npz read, ~0.5 ms at 256 px)."""
        if self.statuses[entry_index] not in USABLE:
            raise ValueError(f"entry {entry_index} has no face ({self.statuses[entry_index]})")
        file = self.files[entry_index]
        try:
            with np.load(file, allow_pickle=False) as stored:
                crop, points = stored["crop"], stored["points"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise DataError(f"The face-cache entry '{file}' is damaged or gone ({error}): delete it and run again to rebuild it.") from error
        if crop.ndim != 3 or crop.shape[2] != 3:
            raise DataError(f"The face-cache entry '{file}' holds a crop of shape {crop.shape}, not [S, S, 3]: delete it and run again to rebuild it.")
        return crop, points

    def source_points(self, entry_index: int) -> np.ndarray:
        """The landmarks of a usable entry in its source image's pixels, [68, 2] float64
        (the crop's points through the inverse of the stored crop affine)."""
        _, points = self.load(entry_index)
        with np.load(self.files[entry_index], allow_pickle=False) as stored:
            affine = stored["affine"]
        inverse = np.linalg.inv(np.vstack([affine, [0, 0, 1]]))[:2]
        return points.astype(np.float64) @ inverse[:, :2].T + inverse[:, 2]

    def class_table(self) -> str:
        """The per-class counts as an aligned text table: images, prepared, dropped and the
        dropped share, one column per class plus the total, then per status that dropped
        images its name and, on the next line, its count per class (status x class)."""
        names = [*self.class_counts, "total"]
        totals = {key: sum(counts[key] for counts in self.class_counts.values()) for key in ("images", "prepared", "dropped")}
        columns = [*self.class_counts.values(), totals]
        width = max(len(n) for n in [*names, "dropped %"])
        rows = ["faces".ljust(10) + " ".join(f"{n:>{width}}" for n in names)]
        for key in ("images", "prepared", "dropped"):
            rows.append(key.ljust(10) + " ".join(f"{c[key]:>{width}}" for c in columns))
        rows.append("dropped %".ljust(10) + " ".join(f"{percent(c['dropped'], c['images']):>{width}}" for c in columns))
        for status, row in self.dropped_by_status.items():  # why, status x class
            rows.append(f"  {status}\n" + " " * 10 + " ".join(f"{count:>{width}}" for count in [*row.values(), sum(row.values())]))
        return "\n".join(rows)


def prepare_faces(
    index: DatasetIndex,
    settings: FaceSettings,
    cache_dir: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    report_dir: Path | None = None,
) -> PreparedFaceSet:
    """Prepare every face of ``index`` (cached; see the module docstring).

    Args:
        index: a reader's index.
        settings: from ``resolve_settings``.
        cache_dir: cache root (None: ``default_cache_dir()``).
        workers: processes (None: one per core; 1: in this process, no pool).
        progress: show a progress bar while images are prepared.
        report_dir: where the CSV report goes (None: next to the cache entries).

    Failures follow ``settings.on_failure``: "skip" and "whole" leave failed entries out
    of ``usable``; "error" raises a one-sentence ``DataError`` naming the first failed
    files, after writing the report. Damaged cache entries are rebuilt with a warning.
    """
    root = (Path(cache_dir).expanduser() if cache_dir else default_cache_dir()) / "faces"
    store = Store(root)
    try:
        folder = root / settings_digest(settings, store)
        plan = _plan(index, store, folder)
        outcomes = plan.outcomes
        for outcome in run(plan.jobs, settings, folder, workers, progress, index.name):
            outcomes[outcome.position] = outcome
            if outcome.content is not None and outcome.position in plan.unhashed:
                store.remember_file(index.entries[outcome.position].path, plan.unhashed[outcome.position], outcome.content)
            store.remember_entry(folder, outcome)
        for position, first in plan.copies.items():  # the same image and annotations again: prepared once
            outcomes[position] = replace(outcomes[first], position=position, rebuilt=False, detector_calls=0, predictor_calls=0)
        decision = tight_crops(outcomes, settings)
        if decision.tight:
            decision = replace(decision, fallbacks=whole_image_for_misses(index, outcomes, settings, store, root, workers, progress))
        store.commit()
    finally:
        store.close()
    return _finish(index, settings, folder, outcomes, report_dir, decision)


@dataclass
class _Plan:
    """What the cache already holds and what is left to do. ``outcomes``: per entry its
    cached outcome or None; ``unhashed``: stats of files whose hash is not on record;
    ``copies``: entries equal to an earlier job's (same content and annotations), by the
    job's position."""

    outcomes: list[Outcome | None]
    jobs: list[Job]
    unhashed: dict[int, os.stat_result]
    copies: dict[int, int]


def _plan(index: DatasetIndex, store: Store, folder: Path) -> _Plan:
    """Look every entry up (content hash from the record or the pixels, then its cache
    entry) and make a job of each miss."""
    plan = _Plan([None] * len(index.entries), [], {}, {})
    scheduled: dict[str, int] = {}  # entry digest -> position of its job
    for position, entry in enumerate(index.entries):
        content = None
        if entry.pixels is not None:
            content = pixels_hash(entry.pixels)
        elif entry.path is not None:
            try:
                stat = os.stat(entry.path)
            except OSError:  # its job reports it unreadable
                pass
            else:
                content = store.known_hash(entry.path, stat)
                if content is None:
                    plan.unhashed[position] = stat
        damaged = False
        if content is not None:
            key = entry_key(content, entry.box, entry.landmarks)
            if key in scheduled:
                plan.copies[position] = scheduled[key]
                continue
            plan.outcomes[position], damaged = store.lookup(folder, position, content, key)
            if plan.outcomes[position] is not None:
                store.remember_entry(folder, plan.outcomes[position])
                continue
            scheduled[key] = position
        plan.jobs.append(Job(position, None if entry.path is None else str(entry.path), entry.pixels, content, entry.box, entry.landmarks, damaged))
    return plan


def _finish(
    index: DatasetIndex, settings: FaceSettings, folder: Path, outcomes: list[Outcome], report_dir: Path | None, decision: TightDecision
) -> PreparedFaceSet:
    """Report, summary, warnings, the on_failure=error and the class-bias checks."""
    statuses = [o.status for o in outcomes]
    rebuilt = sum(o.rebuilt for o in outcomes)
    from_cache = sum(o.cached for o in outcomes)
    report = write_report(index, outcomes, folder, report_dir)
    if rebuilt:
        log.warning("%d damaged face-cache entr%s under %s rebuilt (truncated or corrupt files).", rebuilt, "y was" if rebuilt == 1 else "ies were", folder)
    failed = [(entry, o.status) for entry, o in zip(index.entries, outcomes, strict=True) if o.status not in USABLE]
    if settings.on_failure == "error" and failed:
        named = ", ".join(f"'{entry_name(entry)}' ({status})" for entry, status in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise DataError(
            f"Face preparation failed on {len(failed)} of the {len(outcomes)} {index.name} images ({named}{more}; report: {report}): "
            "fix or remove them, or set face.on_failure=skip to leave them out or face.on_failure=whole to use the whole image where no face is found."
        )
    counts = class_counts(index, statuses)
    bias = class_bias_message(index.name, counts, settings, report)
    if bias is not None and settings.on_class_bias == "error":
        raise DataError(f"{bias[:-1]}; set face.on_class_bias=warn to go on anyway.")
    if bias is not None:
        log.warning("%s", bias)
    return PreparedFaceSet(
        statuses=statuses,
        boxes=[o.box for o in outcomes],
        usable=np.array([i for i, status in enumerate(statuses) if status in USABLE], dtype=np.int64),
        summary=summary_line(index.name, statuses, from_cache, rebuilt, report, decision),
        class_counts=counts,
        class_bias=bias,
        dropped_by_status=status_counts(index, statuses),
        decision=decision,
        details=[o.details for o in outcomes],
        report_path=report,
        detector_calls=sum(o.detector_calls for o in outcomes),
        predictor_calls=sum(o.predictor_calls for o in outcomes),
        rebuilt=rebuilt,
        from_cache=from_cache,
        files=[None if o.key is None else entry_file(o.folder or folder, o.key) for o in outcomes],
    )
