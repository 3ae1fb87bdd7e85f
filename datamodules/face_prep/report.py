"""Face preparation's report: the summary line, the per-class counts and the class-bias
warning (no silent bias), and the per-image CSV."""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
from collections import Counter
from pathlib import Path

from ferlens.datamodules.face_prep.cache_entries import MEASURES
from ferlens.datamodules.face_prep.tight_crops import TightDecision
from ferlens.datamodules.face_prep.workers import Outcome
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex
from ferlens.faces.prepare import STATUS_SEVERAL, STATUSES, USABLE, FaceSettings

#: The per-image report's columns.
REPORT_COLUMNS = ("key", "path", "status", "step", "rescue", "seen_by", "left", "top", "right", "bottom", "faces", "pad", "outside", *MEASURES, "cached")

def summary_line(name: str, statuses: list[str], from_cache: int, rebuilt: int, report: Path, decision: TightDecision) -> str:
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


def status_counts(index: DatasetIndex, statuses: list[str]) -> dict[str, dict[str, int]]:
    """Why images were dropped, status x class: per status that dropped any image (in
    ``STATUSES`` order), per class of ``index`` (in order) the images it dropped."""
    table = {status: dict.fromkeys(index.class_names, 0) for status in STATUSES if status not in USABLE}
    for entry, status in zip(index.entries, statuses, strict=True):
        if status not in USABLE:
            table[status][index.class_names[entry.label]] += 1
    return {status: row for status, row in table.items() if any(row.values())}


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
    return f"{name} {percent(counts['dropped'], counts['images'])} ({counts['dropped']} of {counts['images']})"


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "-"


def entry_name(entry: DatasetEntry) -> str:
    return str(entry.path) if entry.path is not None else entry.key


def write_report(index: DatasetIndex, outcomes: list[Outcome], folder: Path, report_dir: Path | None) -> Path:
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
            checks = ["" if details[key] is None else f"{details[key]:.4f}" for key in MEASURES]
            source = "" if entry.path is None else str(entry.path)
            found = [outcome.status, details["step"], details["rescue"], details["seen_by"], *box, outcome.faces, details["pad"], details["outside"]]
            row = [entry.key, source, *found, *checks, int(outcome.cached)]
            writer.writerow(row)
    os.replace(temporary, path)
    return path
