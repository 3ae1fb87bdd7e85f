"""Is a set one of tight crops? Decided from its own statistics (the detected face box against
the image side), and then its misses prepared again from the whole image."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ferlens.datamodules.face_prep.cache_index import Store, settings_digest
from ferlens.datamodules.face_prep.workers import Job, Outcome, run
from ferlens.datamodules.readers.base import DatasetIndex
from ferlens.faces.detection import STEPS
from ferlens.faces.prepare import DETECTION_FAILURES, USABLE, FaceSettings

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


def tight_crops(outcomes: list[Outcome], settings: FaceSettings) -> TightDecision:
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


def whole_image_for_misses(
    index: DatasetIndex, outcomes: list[Outcome], settings: FaceSettings, store: Store, root: Path, workers: int | None, progress: bool
) -> int:
    """Prepare the detection failures of a tight-crop set again with ``on_failure=whole``
    (cached under those settings), in place in ``outcomes``; how many became usable."""
    whole = replace(settings, on_failure="whole")
    folder = root / settings_digest(whole, store)
    jobs = []
    for position, outcome in enumerate(outcomes):
        if outcome.status in DETECTION_FAILURES and outcome.content is not None:
            entry = index.entries[position]
            cached, damaged = store.lookup(folder, position, outcome.content, outcome.key)
            if cached is not None:
                outcomes[position] = replace(cached, folder=folder)
                continue
            jobs.append(Job(position, None if entry.path is None else str(entry.path), entry.pixels, outcome.content, entry.box, entry.landmarks, damaged))
    misses = [position for position, outcome in enumerate(outcomes) if outcome.status in DETECTION_FAILURES]
    for outcome in run(jobs, whole, folder, workers, progress, index.name):
        outcomes[outcome.position] = replace(outcome, folder=folder)
        store.remember_entry(folder, outcome)
    return sum(outcomes[position].status in USABLE for position in misses)
