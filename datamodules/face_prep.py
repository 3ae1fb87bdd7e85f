"""Face preparation of a dataset, run once and cached: every entry of a reader's
``DatasetIndex`` through ``faces.prepare.prepare_face`` (find the face, its 68 landmarks,
a square crop), in parallel worker processes.

The cache lives outside the data folder (``cache_dir``, default ``$FERLENS_CACHE``, else
``$XDG_CACHE_HOME/ferlens``, else ``~/.cache/ferlens``), under ``faces/``:

- ``<settings digest>/<2 hex>/<entry digest>.npz``, one per image: the crop (raw uint8),
  the landmarks, the box, the crop's affine, the status, the face count and the details
  of the report (detection step, rescue, padding, points outside, plausibility measures) as JSON
  (``np.load(allow_pickle=False)``).
  The settings digest covers the settings, the predictor file's sha256, dlib's version
  and the cache format; the entry digest the image's content (sha256 of the file's bytes,
  or of in-memory pixels with their shape) and the dataset's own box and landmarks. So a
  changed or added file is prepared alone, and a renamed one not at all.
- ``index.sqlite``: content hashes of files by (absolute path, size, mtime_ns), so a
  second run reads no image, and each entry's status, box, details and file size/mtime,
  so it opens no entry either; an entry whose size or mtime differs is read in full and,
  when damaged, rebuilt.
- ``<settings digest>/report_<dataset>_<root digest>.csv``: per image its status, the
  step that found the face, box, face count, padding, points outside the image, rescue, plausibility
  measures and whether it came from the cache (or under ``report_dir``).

Face preparation must not bias the classes silently: the result counts, per class, the
images, the faces prepared and the images dropped, and a class that loses more than
``face.max_class_drop`` of its images, or drop rates of two classes more than
``face.max_class_gap`` apart, give a one-sentence warning naming the classes
(``face.on_class_bias=error``: a ``DataError``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import dlib
import numpy as np
from tqdm import tqdm

from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex
from ferlens.datamodules.sources import DataError
from ferlens.faces.detection import STEPS
from ferlens.faces.landmarks import cnn_has_run, mmod_path, predictor_path
from ferlens.faces.prepare import DETECTION_FAILURES, STATUS_SEVERAL, STATUS_UNREADABLE, STATUSES, USABLE, FaceSettings, PreparedFace, load_models, prepare_face
from ferlens.formats.images import decode_image

log = logging.getLogger(__name__)

#: Version of the entry layout; part of the settings digest.
CACHE_FORMAT = 4  # 4: rescue and points outside (3: details and affine; 2: crops raw; 1: PNG-encoded)
_FIELDS = ("status", "faces", "box", "points", "crop", "affine", "details")
#: Per-image details of the report, besides status, box and face count (``PreparedFace`` fields).
DETAILS = ("step", "rescue", "seen_by", "pad", "outside", "image_side", "shape_residual", "refit_shift", "box_follow", "face_score")
_MEASURES = ("shape_residual", "refit_shift", "box_follow", "face_score")  # faces.plausibility, NaN (None in JSON) when not measured
_NO_DETAILS = {"step": "", "rescue": "", "seen_by": "-", "pad": 0, "outside": 0, "image_side": 0}
_NO_DETAILS |= dict.fromkeys(_MEASURES)
#: Settings that only decide what is reported, not what is stored: left out of the cache folder's digest.
_REPORT_ONLY = ("max_class_drop", "max_class_gap", "on_class_bias")
#: The per-image report's columns.
REPORT_COLUMNS = ("key", "path", "status", "step", "rescue", "seen_by", "left", "top", "right", "bottom", "faces", "pad", "outside", *_MEASURES, "cached")
_COMMIT_EVERY = 500  # database rows written between commits (a killed run keeps most of its work)

Box = tuple[float, float, float, float]


def default_cache_dir() -> Path:
    """``$FERLENS_CACHE``, else ``$XDG_CACHE_HOME/ferlens``, else ``~/.cache/ferlens``."""
    if os.environ.get("FERLENS_CACHE"):
        return Path(os.environ["FERLENS_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "ferlens"


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
        dropped share, one column per class plus the total."""
        names = [*self.class_counts, "total"]
        totals = {key: sum(counts[key] for counts in self.class_counts.values()) for key in ("images", "prepared", "dropped")}
        columns = [*self.class_counts.values(), totals]
        width = max(len(n) for n in [*names, "dropped %"])
        rows = ["faces".ljust(10) + " ".join(f"{n:>{width}}" for n in names)]
        for key in ("images", "prepared", "dropped"):
            rows.append(key.ljust(10) + " ".join(f"{c[key]:>{width}}" for c in columns))
        rows.append("dropped %".ljust(10) + " ".join(f"{_percent(c['dropped'], c['images']):>{width}}" for c in columns))
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
    store = _Store(root)
    try:
        folder = root / _settings_digest(settings, store)
        plan = _plan(index, store, folder)
        outcomes = plan.outcomes
        for outcome in _run(plan.jobs, settings, folder, workers, progress, index.name):
            outcomes[outcome.position] = outcome
            if outcome.content is not None and outcome.position in plan.unhashed:
                store.remember_file(index.entries[outcome.position].path, plan.unhashed[outcome.position], outcome.content)
            store.remember_entry(folder, outcome)
        for position, first in plan.copies.items():  # the same image and annotations again: prepared once
            outcomes[position] = replace(outcomes[first], position=position, rebuilt=False, detector_calls=0, predictor_calls=0)
        decision = tight_crops(outcomes, settings)
        if decision.tight:
            decision = replace(decision, fallbacks=_whole_image_for_misses(index, outcomes, settings, store, root, workers, progress))
        store.commit()
    finally:
        store.close()
    return _finish(index, settings, folder, outcomes, report_dir, decision)


#: A set is one of tight crops when, on the faces a detector found, the median face box is at
#: least this share of the image's longer side (tight crops ~1.0; photos with a margin
#: around the face ~0.55 and less) ...
TIGHT_RATIO = 0.75
#: ... measured on at least this many found faces.
TIGHT_MIN_FOUND = 10


@dataclass(frozen=True)
class TightDecision:
    """Whether the set was taken for tight crops (``tight``), from ``found`` detected faces
    whose median face box is ``ratio`` of the image's longer side; ``fallbacks``: misses then
    prepared from the whole image; ``reason``: one sentence saying what and why."""

    tight: bool
    found: int
    ratio: float
    reason: str
    fallbacks: int = 0


def tight_crops(outcomes: list[_Outcome], settings: FaceSettings) -> TightDecision:
    """Is this a set of tight crops? Decided from its own statistics: the median ratio of the
    detected face box's side to the image's longer side over the faces a detection step found
    (``TIGHT_RATIO``, ``TIGHT_MIN_FOUND``). Only for the dlib detectors with dlib's points
    and ``on_failure=skip`` (``whole`` already falls back for every miss)."""
    if settings.detector not in ("dlib", "dlib_cnn") or settings.landmarks != "dlib" or settings.on_failure != "skip":
        return TightDecision(False, 0, float("nan"), "")
    ratios = [
        max(o.box[2] - o.box[0], o.box[3] - o.box[1]) / o.details["image_side"]
        for o in outcomes
        if o.status in USABLE and o.box is not None and o.details.get("image_side") and o.details["step"] in STEPS
    ]
    if len(ratios) < TIGHT_MIN_FOUND:
        return TightDecision(False, len(ratios), float("nan"), f"too few faces found ({len(ratios)}) to tell whether the images are tight crops")
    ratio = float(np.median(ratios))
    tight = ratio >= TIGHT_RATIO
    verdict = "taken for tight crops, so misses were tried on the whole image" if tight else "not taken for tight crops, so misses are left out"
    why = f"median face box {ratio:.2f} of the image side on {len(ratios)} faces found; tight from {TIGHT_RATIO:g}"
    return TightDecision(tight, len(ratios), ratio, f"{verdict} ({why})")


def _whole_image_for_misses(
    index: DatasetIndex, outcomes: list[_Outcome], settings: FaceSettings, store: _Store, root: Path, workers: int | None, progress: bool
) -> int:
    """Prepare the detection failures of a tight-crop set again with ``on_failure=whole``
    (cached under those settings), in place in ``outcomes``; how many became usable."""
    whole = replace(settings, on_failure="whole")
    folder = root / _settings_digest(whole, store)
    jobs = []
    for position, outcome in enumerate(outcomes):
        if outcome.status in DETECTION_FAILURES and outcome.content is not None:
            entry = index.entries[position]
            cached, damaged = store.lookup(folder, position, outcome.content, outcome.key)
            if cached is not None:
                outcomes[position] = replace(cached, folder=folder)
                continue
            jobs.append(_Job(position, None if entry.path is None else str(entry.path), entry.pixels, outcome.content, entry.box, entry.landmarks, damaged))
    misses = [position for position, outcome in enumerate(outcomes) if outcome.status in DETECTION_FAILURES]
    for outcome in _run(jobs, whole, folder, workers, progress, index.name):
        outcomes[outcome.position] = replace(outcome, folder=folder)
        store.remember_entry(folder, outcome)
    return sum(outcomes[position].status in USABLE for position in misses)


@dataclass
class _Plan:
    """What the cache already holds and what is left to do. ``outcomes``: per entry its
    cached outcome or None; ``unhashed``: stats of files whose hash is not on record;
    ``copies``: entries equal to an earlier job's (same content and annotations), by the
    job's position."""

    outcomes: list[_Outcome | None]
    jobs: list[_Job]
    unhashed: dict[int, os.stat_result]
    copies: dict[int, int]


def _plan(index: DatasetIndex, store: _Store, folder: Path) -> _Plan:
    """Look every entry up (content hash from the record or the pixels, then its cache
    entry) and make a job of each miss."""
    plan = _Plan([None] * len(index.entries), [], {}, {})
    scheduled: dict[str, int] = {}  # entry digest -> position of its job
    for position, entry in enumerate(index.entries):
        content = None
        if entry.pixels is not None:
            content = _pixels_hash(entry.pixels)
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
        plan.jobs.append(_Job(position, None if entry.path is None else str(entry.path), entry.pixels, content, entry.box, entry.landmarks, damaged))
    return plan


def _finish(
    index: DatasetIndex, settings: FaceSettings, folder: Path, outcomes: list[_Outcome], report_dir: Path | None, decision: TightDecision
) -> PreparedFaceSet:
    """Report, summary, warnings, the on_failure=error and the class-bias checks."""
    statuses = [o.status for o in outcomes]
    rebuilt = sum(o.rebuilt for o in outcomes)
    from_cache = sum(o.cached for o in outcomes)
    report = _write_report(index, outcomes, folder, report_dir)
    if rebuilt:
        log.warning("%d damaged face-cache entr%s under %s rebuilt (truncated or corrupt files).", rebuilt, "y was" if rebuilt == 1 else "ies were", folder)
    failed = [(entry, o.status) for entry, o in zip(index.entries, outcomes, strict=True) if o.status not in USABLE]
    if settings.on_failure == "error" and failed:
        named = ", ".join(f"'{_name(entry)}' ({status})" for entry, status in failed[:3])
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
        summary=_summary(index.name, statuses, from_cache, rebuilt, report, decision),
        class_counts=counts,
        class_bias=bias,
        details=[o.details for o in outcomes],
        report_path=report,
        detector_calls=sum(o.detector_calls for o in outcomes),
        predictor_calls=sum(o.predictor_calls for o in outcomes),
        rebuilt=rebuilt,
        from_cache=from_cache,
        files=[None if o.key is None else _entry_file(o.folder or folder, o.key) for o in outcomes],
    )


def _summary(name: str, statuses: list[str], from_cache: int, rebuilt: int, report: Path, decision: TightDecision) -> str:
    """e.g. ``rafdb: 15339 images -> 15310 faces prepared (12 several faces, largest kept);
    skipped 29: no face 25, unreadable 3, face too small 1; 15339 from cache; report: ...``."""
    counts = Counter(statuses)
    usable = sum(counts[status] for status in USABLE)
    text = f"{name}: {len(statuses)} images -> {usable} faces prepared"
    notes = [f"{counts[s]} {s}{', largest kept' if s == STATUS_SEVERAL else ''}" for s in USABLE[1:] if counts[s]]
    if notes:
        text += f" ({'; '.join(notes)})"
    skipped = [(status, count) for status, count in counts.most_common() if status not in USABLE]
    if skipped:
        text += f"; skipped {sum(c for _, c in skipped)}: " + ", ".join(f"{status} {count}" for status, count in skipped)
    if decision.reason:
        text += f"; {decision.reason}" + (f": {decision.fallbacks} saved" if decision.tight else "")
    text += f"; {from_cache} from cache"
    if rebuilt:
        text += f"; {rebuilt} damaged cache entr{'y' if rebuilt == 1 else 'ies'} rebuilt"
    return text + f"; report: {report}"


def class_counts(index: DatasetIndex, statuses: list[str]) -> dict[str, dict[str, int]]:
    """Per class of ``index`` (in order): its "images", faces "prepared" (usable statuses)
    and images "dropped" (every other status, unreadable files included)."""
    counts = {name: {"images": 0, "prepared": 0, "dropped": 0} for name in index.class_names}
    for entry, status in zip(index.entries, statuses, strict=True):
        counts[index.class_names[entry.label]]["images"] += 1
        counts[index.class_names[entry.label]]["prepared" if status in USABLE else "dropped"] += 1
    return counts


def class_bias_message(name: str, counts: dict[str, dict[str, int]], settings: FaceSettings, report: Path) -> str | None:
    """One sentence naming the classes that lost more than ``settings.max_class_drop`` of
    their images (or, when drop rates differ by more than ``settings.max_class_gap``, the
    classes that lost most and least), or None when the drops are even and small."""
    rates = {cls: c["dropped"] / c["images"] for cls, c in counts.items() if c["images"]}
    if not rates:
        return None
    high = [cls for cls, rate in rates.items() if rate > settings.max_class_drop]
    gap = max(rates.values()) - min(rates.values())
    if not high and gap <= settings.max_class_gap:
        return None
    most, least = max(rates, key=rates.get), min(rates, key=rates.get)
    order = list(counts)
    named = sorted(set(high) | ({most} if gap > settings.max_class_gap else set()), key=lambda cls: (-rates[cls], order.index(cls)))
    listing = ", ".join(_class_drop(cls, counts[cls]) for cls in named)
    against = f" against {_class_drop(least, counts[least])}" if least not in named else ""
    reasons = [f"more than face.max_class_drop={settings.max_class_drop:g}"] if high else []
    if gap > settings.max_class_gap:
        reasons.append(f"drop rates {round(100 * gap)} points apart, more than face.max_class_gap={settings.max_class_gap:g}")
    whose = "this class" if len(named) == 1 else "these classes"
    return (
        f"Face preparation dropped {listing}{against} of the {name} images ({'; '.join(reasons)}), so the heatmaps of {whose} "
        f"rest on the faces the detector could find: see which images and why in {report}."
    )


def _class_drop(name: str, counts: dict[str, int]) -> str:
    """e.g. ``Fear 61 % (49 of 80)``."""
    return f"{name} {_percent(counts['dropped'], counts['images'])} ({counts['dropped']} of {counts['images']})"


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "-"


def _name(entry: DatasetEntry) -> str:
    return str(entry.path) if entry.path is not None else entry.key


def _write_report(index: DatasetIndex, outcomes: list[_Outcome], folder: Path, report_dir: Path | None) -> Path:
    """The per-image CSV (``REPORT_COLUMNS``), written atomically."""
    root_digest = hashlib.sha256(str(Path(index.root).expanduser().absolute()).encode()).hexdigest()[:8]
    path = Path(report_dir) / f"{index.name}_faces.csv" if report_dir else folder / f"report_{index.name}_{root_digest}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(descriptor, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for entry, outcome in zip(index.entries, outcomes, strict=True):
            box = ["", "", "", ""] if outcome.box is None else [f"{v:g}" for v in outcome.box]
            details = outcome.details
            checks = ["" if details[key] is None else f"{details[key]:.4f}" for key in _MEASURES]
            source = "" if entry.path is None else str(entry.path)
            found = [outcome.status, details["step"], details["rescue"], details["seen_by"], *box, outcome.faces, details["pad"], details["outside"]]
            row = [entry.key, source, *found, *checks, int(outcome.cached)]
            writer.writerow(row)
    os.replace(temporary, path)
    return path


# -- one entry (in a worker process or in-process) ---------------------------------------


@dataclass(frozen=True)
class _Job:
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
class _Outcome:
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
    details: dict = field(default_factory=lambda: dict(_NO_DETAILS))
    folder: Path | None = None  # the cache folder, when not the settings' own (the whole-image fallback of tight crops)


def _prepare_entry(job: _Job, settings: FaceSettings, folder: Path) -> _Outcome:
    """Hash (when needed), look up, else prepare and store one entry."""
    content, data = job.content, None
    if job.pixels is None:
        try:
            data = Path(job.path).read_bytes()
        except OSError:
            return _Outcome(job.position, None, None, STATUS_UNREADABLE, None, 0, cached=False)
        content = content or hashlib.sha256(data).hexdigest()
    key = entry_key(content, job.box, job.landmarks)
    file = _entry_file(folder, key)
    damaged = job.damaged
    if job.content is None:
        try:
            status, faces, box, details, stat = _read_entry(file)
            return _Outcome(job.position, content, key, status, box, faces, cached=True, stat=stat, details=details)
        except FileNotFoundError:
            pass
        except _DamagedEntry:
            damaged = True
    image = job.pixels if job.pixels is not None else decode_image(data)
    face = prepare_face(image, settings, job.box, job.landmarks)
    details = _details(face)
    stat = _write_entry(file, face, details)
    calls = (face.detector_calls, face.predictor_calls)
    return _Outcome(job.position, content, key, face.status, face.box, face.face_count, False, damaged, stat, *calls, details)


def _details(face: PreparedFace) -> dict:
    """A face's ``DETAILS`` as JSON-ready values (NaN measures as None)."""
    details = {key: getattr(face, key) for key in DETAILS}
    for key in _MEASURES:
        details[key] = None if np.isnan(details[key]) else round(float(details[key]), 6)
    return details


_worker: tuple[FaceSettings, Path] | None = None  # a worker process's settings and cache folder


def _start_worker(settings: FaceSettings, folder: Path) -> None:
    """Pool initializer: keep the settings and load dlib's models once per process."""
    global _worker
    _worker = (settings, folder)
    load_models(settings)  # no-op when forked from a process that loaded them


def _run_job(job: _Job) -> _Outcome:
    return _prepare_entry(job, *_worker)


def _run(jobs: list[_Job], settings: FaceSettings, folder: Path, workers: int | None, progress: bool, name: str) -> Iterator[_Outcome]:
    """The jobs' outcomes in order: in this process for one worker (or one job), else in a
    pool of processes. On Linux the pool forks this process after it loaded dlib's models,
    so the workers share them instead of loading ~100 MB each (~1 s); elsewhere, and when
    this process has run dlib's CNN (a forked copy would hang in it), each spawned worker
    loads its own."""
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    with tqdm(total=len(jobs), desc=f"{name}: preparing faces", unit="image", disable=not progress or not jobs) as bar:
        if workers <= 1:
            for job in jobs:
                yield _prepare_entry(job, settings, folder)
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


# -- cache entries -----------------------------------------------------------------------


class _DamagedEntry(Exception):
    """A cache entry that exists but cannot be read back whole."""


def entry_key(content: str, box: Box | None, landmarks: np.ndarray | None) -> str:
    """sha256 (hex) of an image's content hash and its dataset box and landmarks."""
    digest = hashlib.sha256(content.encode())
    digest.update(b"box:" + (b"-" if box is None else np.asarray(box, np.float64).tobytes()))
    digest.update(b"landmarks:" + (b"-" if landmarks is None else np.asarray(landmarks, np.float32).tobytes()))
    return digest.hexdigest()


def _pixels_hash(pixels: np.ndarray) -> str:
    digest = hashlib.sha256(f"{pixels.dtype.str}{pixels.shape}".encode())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


def _entry_file(folder: Path, key: str) -> Path:
    return folder / key[:2] / f"{key}.npz"


def _write_entry(file: Path, face: PreparedFace, details: dict) -> tuple[int, int]:
    """Store ``face`` and its ``details`` at ``file`` atomically; returns the file's (size, mtime_ns)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    if face.usable:
        crop, points, affine = face.crop, face.points, face.affine
    else:
        crop, points, affine = np.zeros((0, 0, 3), np.uint8), np.full((68, 2), np.nan, np.float32), np.full((2, 3), np.nan)
    box = np.full(4, np.nan) if face.box is None else np.asarray(face.box, np.float64)
    descriptor, temporary = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(
                handle, status=np.array(face.status), faces=np.array(face.face_count), box=box, points=points, crop=crop, affine=affine,
                details=np.array(json.dumps(details, sort_keys=True)),
            )  # fmt: skip
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    stat = file.stat()
    return stat.st_size, stat.st_mtime_ns


def _read_entry(file: Path) -> tuple[str, int, Box | None, dict, tuple[int, int]]:
    """(status, faces, box, details, (size, mtime_ns)) of a whole, well-formed cache entry;
    raises FileNotFoundError when there is none and ``_DamagedEntry`` when it is damaged."""
    stat = file.stat()
    try:
        with np.load(file, allow_pickle=False) as stored:
            if sorted(stored.files) != sorted(_FIELDS):
                raise ValueError(f"fields {sorted(stored.files)}")
            status, faces, box, points, crop, affine, details = (stored[name] for name in _FIELDS)  # reading checks the zip CRCs
        status = str(status)
        details = json.loads(str(details))
        usable = status in USABLE
        well_formed = (
            status in STATUSES
            and faces.shape == ()
            and box.shape == (4,)
            and points.shape == (68, 2)
            and points.dtype == np.float32
            and crop.dtype == np.uint8
            and crop.ndim == 3
            and crop.shape[2] == 3
            and (crop.size > 0) == usable
            and affine.shape == (2, 3)
            and isinstance(details, dict)
            and sorted(details) == sorted(DETAILS)
        )
        if not well_formed:
            raise ValueError("wrong fields")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise _DamagedEntry(str(error)) from error
    box_tuple = None if np.isnan(box).any() else tuple(float(v) for v in box)
    return status, int(faces), box_tuple, details, (stat.st_size, stat.st_mtime_ns)


class _Store:
    """The cache's sqlite index: file content hashes by (path, size, mtime_ns), and each
    entry's status, faces, box, details and (size, mtime_ns) as last written or checked
    (table ``entries_v4``: entries of cache format 4)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.pending = 0
        try:
            self.db = self._open()
        except sqlite3.DatabaseError:  # only an index of what the entries hold: start afresh
            log.warning("The face-cache index %s was damaged: rebuilding it (images are hashed again, entries reread).", root / "index.sqlite")
            (root / "index.sqlite").unlink()
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.root / "index.sqlite", timeout=120)
        try:
            db.executescript(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);"
                "CREATE TABLE IF NOT EXISTS entries_v4 "
                "(file TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, status TEXT, faces INTEGER, box TEXT, details TEXT);"
            )
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def known_hash(self, path: Path, stat: os.stat_result) -> str | None:
        """The content hash recorded for ``path`` when its size and mtime are unchanged."""
        row = self.db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path = ?", (os.path.abspath(path),)).fetchone()
        return row[2] if row and row[:2] == (stat.st_size, stat.st_mtime_ns) else None

    def file_hash(self, path: Path) -> str:
        """sha256 of a file, memoised by (path, size, mtime_ns)."""
        stat = os.stat(path)
        known = self.known_hash(path, stat)
        if known is None:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
            known = digest.hexdigest()
            self.remember_file(path, stat, known)
        return known

    def remember_file(self, path: Path, stat: os.stat_result, content: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (os.path.abspath(path), stat.st_size, stat.st_mtime_ns, content))
        self._written()

    def lookup(self, folder: Path, position: int, content: str, key: str) -> tuple[_Outcome | None, bool]:
        """(the cached outcome of entry digest ``key`` or None, whether a damaged entry was
        found). A recorded entry whose size and mtime still match is trusted unopened."""
        file = _entry_file(folder, key)
        row = self.db.execute("SELECT size, mtime_ns, status, faces, box, details FROM entries_v4 WHERE file = ?", (self._relative(file),)).fetchone()
        try:
            stat = os.stat(file)
            if row and row[:2] == (stat.st_size, stat.st_mtime_ns):
                box = json.loads(row[4])
                return _Outcome(position, content, key, row[2], None if box is None else tuple(box), row[3], cached=True, details=json.loads(row[5])), False
            status, faces, box, details, file_stat = _read_entry(file)
            return _Outcome(position, content, key, status, box, faces, cached=True, stat=file_stat, details=details), False
        except FileNotFoundError:
            return None, False
        except _DamagedEntry:
            return None, True

    def remember_entry(self, folder: Path, outcome: _Outcome) -> None:
        if outcome.key is None or outcome.stat is None:
            return
        file = self._relative(_entry_file(folder, outcome.key))
        row = (file, *outcome.stat, outcome.status, outcome.faces, json.dumps(outcome.box), json.dumps(outcome.details))
        self.db.execute("INSERT OR REPLACE INTO entries_v4 VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        self._written()

    def _relative(self, file: Path) -> str:
        return file.relative_to(self.root).as_posix()

    def _written(self) -> None:
        self.pending += 1
        if self.pending >= _COMMIT_EVERY:
            self.commit()

    def commit(self) -> None:
        self.db.commit()
        self.pending = 0

    def close(self) -> None:
        self.db.close()


def _settings_digest(settings: FaceSettings, store: _Store) -> str:
    """The cache folder's name: settings (on_failure=error stores as skip does; the class-bias
    settings, which decide only what is reported, left out), the predictor's and the CNN
    detector's file sha256, dlib's version and the cache format."""
    report_only = {name: getattr(FaceSettings("dlib", "dlib"), name) for name in _REPORT_ONLY}
    stored_as = replace(settings, on_failure="whole" if settings.on_failure == "whole" else "skip", **report_only)
    models = {"predictor": store.file_hash(predictor_path())}
    if "cnn" in settings.detection_steps():
        models["cnn"] = store.file_hash(mmod_path())
    parts = {"settings": stored_as.digest(), **models, "dlib": dlib.__version__, "format": CACHE_FORMAT}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
