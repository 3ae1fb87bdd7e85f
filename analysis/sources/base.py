"""What every artifact source returns, and the filters they share.

A run is identified without W&B by its manifest fields ``run.dir`` (its output directory)
and ``run.started`` (its start, ISO 8601 UTC); ``run.id`` and ``run.name`` exist only for
runs logged to W&B.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ferlens.analysis.heatmap_set import HeatmapSet
from ferlens.formats.heatmap_artifact import HeatmapArtifact
from ferlens.formats.manifest import HeatmapManifest, RunInfo
from ferlens.user_errors import UserError

log = logging.getLogger(__name__)

#: Default network label: the network, ``+AU<weight>`` when trained with AU guidance.
DEFAULT_LABEL = "{model}{guidance}"
#: Manifest sections compared to say how two colliding heatmap sets differ.
COMPARED_SECTIONS = ("run", "saliency", "selection", "warp")
#: The start of a set whose start is not known, for ``source.latest`` (older than any other).
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
#: The label part that tells apart sets of one network from different datasets.
DATASET_PART = "-{dataset}"


def matches_run(given: Any, run: RunInfo) -> bool:
    """``given`` names the run: its W&B id, its directory (``run.dir``) as a path, or that
    directory's final folder name."""
    given = str(given)
    if run.id is not None and given == str(run.id):
        return True
    if not run.dir:
        return False
    directory = Path(run.dir)
    return given == directory.name or Path(given).expanduser().resolve() == directory


@dataclass
class Filters:
    """Keep only heatmap sets whose network label, fold, method, dataset and run are listed
    (None keeps all). A ``run`` entry is a run directory (a path or its final folder name) or
    a W&B run id; a set whose manifest does not record the dataset or run passes no such filter."""

    model: Sequence[str] | None = None
    fold: Sequence[int] | None = None
    method: Sequence[str] | None = None
    dataset: Sequence[str] | None = None
    run: Sequence[str] | None = None

    def __post_init__(self) -> None:
        """One value given without brackets (``filters.fold=2``) is a one-item list."""
        for name, value in vars(self).items():
            if isinstance(value, str | int):
                setattr(self, name, [value])

    def keeps(self, network: str, method: str, fold: int | str | None, run: RunInfo | None = None) -> bool:
        """True when the set passes every filter; ``run`` is its manifest's run (None: no manifest)."""
        return (
            (not self.model or network in self.model)
            and (not self.fold or str(fold) in map(str, self.fold))
            and (not self.method or method in self.method)
            and (not self.dataset or (run is not None and run.dataset in self.dataset))
            and (not self.run or (run is not None and any(matches_run(given, run) for given in self.run)))
        )

    def describe(self) -> str:
        chosen = [f"{name}={list(value)}" for name, value in vars(self).items() if value]
        return ", ".join(chosen) if chosen else "no filters"


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    """Nested dicts as ``{"a.b": value}``."""
    if not isinstance(value, dict):
        return {prefix: value}
    return {key: leaf for name, item in value.items() for key, leaf in _flat(item, f"{prefix}.{name}").items()}


def _compared(heatmap_set: HeatmapSet) -> dict[str, Any]:
    """The ``COMPARED_SECTIONS`` of a set's manifest as ``{"run.seed": value}`` (none without a manifest)."""
    if heatmap_set.manifest is None:
        return {}
    return {key: leaf for section in COMPARED_SECTIONS for key, leaf in _flat(getattr(heatmap_set.manifest, section).to_dict(), section).items()}


def differing_fields(first: HeatmapSet, second: HeatmapSet) -> list[str]:
    """Manifest fields (``run.seed``, ``saliency.params.num_samples`` ...) that differ between two sets."""
    fields = [_compared(s) for s in (first, second)]
    return [key for key in dict.fromkeys([*fields[0], *fields[1]]) if fields[0].get(key) != fields[1].get(key)]


def _run_field(heatmap_set: HeatmapSet, name: str) -> Any:
    """The run field ``name`` of a set's manifest (None for a set without one)."""
    return None if heatmap_set.run is None else getattr(heatmap_set.run, name)


def _run_time(heatmap_set: HeatmapSet) -> str:
    """A set's run start (``run.started``) as ISO 8601 basic in UTC (``20260501T093000Z``),
    else its run folder (an artifact older than ``run.started``)."""
    return basic_utc(parse_time(_run_field(heatmap_set, "started"))) or _run_folder(heatmap_set)


def _run_folder(heatmap_set: HeatmapSet) -> str:
    """The name of the run directory a set came from (``run.dir``, else the folder above ``heatmaps/``)."""
    run_dir = _run_field(heatmap_set, "dir")
    return Path(run_dir).name if run_dir else Path(heatmap_set.origin).parent.parent.name or heatmap_set.origin


def collision_message(first: HeatmapSet, second: HeatmapSet, label: str) -> str:
    """One sentence for two sets that cannot stand side by side: copies of one artifact, or
    sets of one network label from different datasets; how to keep one or tell them apart."""
    network, method, fold = second.key
    clash = f"Two heatmap sets for network '{network}', method '{method}', fold {fold} ({first.origin} and {second.origin})"
    differing = differing_fields(first, second)
    if not differing:
        return f"{clash} are copies of one artifact (their run, saliency, selection and warp fields are equal): give only one of them to the source."
    shown = ", ".join(differing[:6]) + (f" and {len(differing) - 6} more" if len(differing) > 6 else "")
    return f"{clash} differ in {shown}: keep one dataset with filters.dataset or tell them apart with source.label='{label}{DATASET_PART}'."


@dataclass
class Collection:
    """The heatmap sets a source found, what it skipped as (origin, reason) and, with
    ``latest``, the older sets it left out as (origin, origin of the newer set kept)."""

    sets: list[HeatmapSet] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    label: str = DEFAULT_LABEL
    latest: bool = False
    superseded: list[tuple[str, str]] = field(default_factory=list)
    #: network labels shared by repeated runs or splits (``told_apart`` relabels their sets)
    repeated: set[str] = field(default_factory=set)

    def skip(self, origin: str, reason: str, strict: bool) -> None:
        """Record a damaged input (or raise when ``strict``); never silent."""
        if strict:
            raise UserError(reason)
        log.warning("skipped %s: %s", origin, reason)
        self.skipped.append((origin, reason))

    def supersede(self, older: str, newer: str) -> None:
        """Record (and log) that ``older`` was left out for the newer run's ``newer``."""
        log.info("source.latest: left out %s, an older run than %s", older, newer)
        self.superseded.append((older, newer))

    def add(self, heatmap_set: HeatmapSet) -> None:
        """Add a set. A second set with the same (network, method, fold) from the same
        dataset is a repeated run or another split: with ``latest`` and the same split the
        newer run's set stays; otherwise both stay and ``told_apart`` labels them by split
        and run time. Copies of one artifact, and sets of different datasets, are refused."""
        index = next((i for i, other in enumerate(self.sets) if other.key == heatmap_set.key), None)
        if index is None:
            self.sets.append(heatmap_set)
            return
        clash = self.sets[index]
        same_dataset = _run_field(clash, "dataset") == _run_field(heatmap_set, "dataset")
        if not same_dataset or not differing_fields(clash, heatmap_set):
            raise UserError(collision_message(clash, heatmap_set, self.label))
        if self.latest and clash.split == heatmap_set.split:
            if (heatmap_set.started or EARLIEST) > (clash.started or EARLIEST):
                self.sets[index] = heatmap_set
                self.supersede(clash.origin, heatmap_set.origin)
            else:
                self.supersede(heatmap_set.origin, clash.origin)
            return
        self.sets.append(heatmap_set)
        self.repeated.add(heatmap_set.network)

    def told_apart(self) -> Collection:
        """Relabel the sets whose network label is shared by repeated runs or by several
        splits (``add``): ``<label>-<split>`` where the splits differ, ``-<run time>`` where
        runs still share it (every set of that label, so one run keeps one label across
        methods), and log how, once per label. Returns the collection."""
        for label in sorted(self.repeated):
            shared = [s for s in self.sets if s.network == label]
            by_split = len({s.split for s in shared}) > 1
            parts = {id(s): [label, *([s.split or "split-not-recorded"] if by_split else [])] for s in shared}
            keys = [(tuple(parts[id(s)]), s.method, s.fold) for s in shared]
            timed = len(set(keys)) < len(keys)
            if timed:  # runs still share a label: their start times tell them apart, else their folders
                times = {id(s): _run_time(s) for s in shared}
                if len({(tuple(parts[id(s)]), times[id(s)], s.method, s.fold) for s in shared}) < len(shared):
                    times = {id(s): _run_folder(s) for s in shared}
                for s in shared:
                    parts[id(s)].append(times[id(s)])
            for s in shared:
                s.network = "-".join(parts[id(s)])
            names = ", ".join(sorted({s.network for s in shared}))
            how = " and ".join(part for part, used in (("by explained split", by_split), ("by run start time", timed)) if used)
            log.warning(
                "%d heatmap sets share the network label '%s' (repeated runs or splits): told apart %s as %s; source.latest=true keeps the newest "
                "run per split, source.label='%s-{seed}' (or any run field) names them your way.", len(shared), label, how, names, self.label,
            )  # fmt: skip
        self.repeated = set()
        return self


def parse_time(text: Any) -> datetime | None:
    """An ISO 8601 time as an aware datetime (a naive one taken as UTC); None when absent or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def guidance_suffix(weight: float | None) -> str:
    """``""`` for a run trained without AU guidance (weight 0 or not recorded), else
    ``"+AU<weight>"``: the same network with and without guidance get two labels."""
    return f"+AU{weight:g}" if weight else ""


def basic_utc(moment: datetime | None) -> str | None:
    """``moment`` in UTC as ISO 8601 basic (``20260501T093000Z``); None for None."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ") if moment else None


def label_fields(run: RunInfo) -> dict[str, Any]:
    """The fields a label can use: the run's, plus ``guidance`` (``guidance_suffix``) and
    ``time``, the run's start in UTC as ISO 8601 basic (``20260501T093000Z``; None when the
    manifest predates ``run.started``)."""
    return {"guidance": guidance_suffix(run.au_guidance), "time": basic_utc(parse_time(run.started)), **run.to_dict()}


def run_label(run: RunInfo, template: str, origin: str = "") -> str:
    """Network label of an artifact from ``template`` (str.format over ``label_fields`` of the
    manifest's ``run``, e.g. '{model}', '{model}-s{seed}' or '{model}-{time}'). A field the run
    does not record (None, e.g. W&B's id and name in a run without W&B) is an error, not 'None'."""
    fields = label_fields(run)
    try:
        used = {re.split(r"[.\[]", name)[0] for _, name, _, _ in string.Formatter().parse(template) if name}
        label = template.format(**fields)
    except (KeyError, IndexError, ValueError) as error:
        raise UserError(f"source.label '{template}' uses a field the artifact's run does not have ({error}): use fields of {sorted(fields)}.") from error
    empty = sorted(name for name in used if fields.get(name) is None)
    if empty:
        raise UserError(
            f"source.label '{template}' uses {', '.join(empty)}, which the run of '{origin}' does not record (None; id, name and sweep exist only for "
            "runs logged to W&B): use recorded fields, e.g. source.label='{model}{guidance}-{time}'."
        )
    return label


def manifest_identity(manifest: HeatmapManifest, label: str, origin: str = "") -> tuple[str, str, int]:
    """(network label, method, fold) of an artifact's manifest: the method is the saliency
    config key (else the method name); a missing fold becomes 1 (a single split)."""
    fold = manifest.run.fold if manifest.run.fold is not None else 1
    return run_label(manifest.run, label, origin), manifest.saliency.name, fold


def from_artifact(artifact: HeatmapArtifact, origin: str, label: str, written: datetime | None = None) -> HeatmapSet:
    """A heatmap set from a verified artifact; ``written`` (when the artifact was written)
    stands in for ``run.started`` in manifests that predate it."""
    manifest = artifact.manifest
    network, method, fold = manifest_identity(manifest, label, origin)
    return HeatmapSet(
        network=network,
        method=method,
        fold=fold,
        classes=artifact.classes,
        heatmaps=artifact.heatmaps.astype("float32"),
        counts=manifest.class_counts(),
        pretrained=manifest.run.pretrained,
        template=manifest.template.to_dict(),
        origin=origin,
        manifest=manifest,
        started=parse_time(manifest.run.started) or written,
        evidence=artifact.evidence,
    )
