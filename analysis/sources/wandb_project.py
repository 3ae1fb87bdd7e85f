"""``source=wandb``: every ``global-heatmaps`` artifact of a W&B project, via the public API.

Runs are chosen on the server (sweep, group, tags); artifacts by their metadata (the
manifest: model, fold, method, dataset, run; with ``latest`` the newest run per network
label, method, fold and dataset) before anything is downloaded. Downloads are cached under
``cache_dir/<entity>/<project>/<artifact>/<version>`` and verified against their checksums.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ferlens.analysis.sources.base import DEFAULT_LABEL, EARLIEST, Collection, Filters, from_artifact, manifest_identity, parse_time
from ferlens.formats.heatmap_artifact import ARTIFACT_TYPE, CorruptArtifactError, read_artifact
from ferlens.formats.manifest import HeatmapManifest
from ferlens.user_errors import UserError


def run_filters(sweep: str | None = None, group: str | None = None, tags: list[str] | None = None) -> dict[str, Any]:
    """The public API's MongoDB-style run filter for a sweep id, a group and any of ``tags``."""
    clauses: list[dict[str, Any]] = []
    if sweep:
        clauses.append({"sweep": sweep})
    if group:
        clauses.append({"group": group})
    if tags:
        clauses.append({"tags": {"$in": list(tags)}})
    return {"$and": clauses} if len(clauses) > 1 else (clauses[0] if clauses else {})


def _public_api() -> Any:
    import wandb

    try:
        return wandb.Api(timeout=60)
    except Exception as error:  # wandb raises several types for "no key" / "no network"
        reason = f"{type(error).__name__}: {error}"
        raise UserError(f"The W&B public API is not available ({reason}): run `wandb login` on a machine that reaches W&B, or use source=local.") from error


def _metadata(artifact: Any) -> HeatmapManifest:
    """The artifact's metadata read as its manifest (``partial``: runs before manifest
    version 2 logged it without classes, counts, template and checksums)."""
    return HeatmapManifest.from_dict(dict(artifact.metadata or {}), f"{artifact.name} (W&B metadata)", partial=True)


def _described(artifacts: list[Any], project: str, collection: Collection, strict: bool) -> list[tuple[Any, HeatmapManifest]]:
    """Each artifact with its metadata as a manifest; one whose metadata fails the schema is skipped (recorded)."""
    described = []
    for artifact in artifacts:
        try:
            described.append((artifact, _metadata(artifact)))
        except CorruptArtifactError as error:
            collection.skip(f"{project}/{artifact.name}", str(error), strict)
    return described


def _keeps(filters: Filters, artifact: Any, manifest: HeatmapManifest, label: str) -> bool:
    """The artifact passes ``filters``, judged by its metadata (the manifest)."""
    return filters.keeps(*manifest_identity(manifest, label, artifact.name), run=manifest.run)


def _latest_versions(artifacts: list[Any]) -> list[Any]:
    """One artifact per name: the newest version (a run re-logs on later epochs)."""
    newest: dict[str, Any] = {}
    for artifact in artifacts:
        name = artifact.name.split(":")[0]
        version = int(str(artifact.version).lstrip("v") or 0)
        if name not in newest or version > int(str(newest[name].version).lstrip("v") or 0):
            newest[name] = artifact
    return list(newest.values())


def _newest_runs(described: list[tuple[Any, HeatmapManifest]], label: str, collection: Collection) -> list[Any]:
    """``source.latest`` on metadata: per (network label, method, fold, dataset, explained split) the artifact
    of the newest run, by ``run.started`` (else the artifact's creation time); the others
    are recorded in ``collection`` as superseded."""
    newest: dict[tuple, Any] = {}
    for artifact, manifest in sorted(described, key=lambda pair: _started(*pair) or EARLIEST):
        group = (*manifest_identity(manifest, label, artifact.name), manifest.run.dataset, manifest.selection.split)
        if group in newest:
            collection.supersede(newest[group].name, artifact.name)
        newest[group] = artifact
    return list(newest.values())


def _started(artifact: Any, manifest: HeatmapManifest) -> datetime | None:
    """When the artifact's run started (``run.started``), else when the artifact was created."""
    return parse_time(manifest.run.started) or parse_time(getattr(artifact, "created_at", None))


def collect_wandb(
    project: str,
    filters: Filters,
    sweep: str | None = None,
    group: str | None = None,
    tags: list[str] | None = None,
    label: str = DEFAULT_LABEL,
    cache_dir: str | Path = "~/.cache/ferlens/artifacts",
    strict: bool = False,
    latest: bool = False,
    api: Any = None,
) -> Collection:
    """Download (or reuse from the cache), verify and read the matching artifacts of
    ``project`` ("entity/project"). ``latest``: only the newest run's artifact per network
    label, method, fold and dataset, by the manifest's ``run.started``, else the artifact's
    creation time. ``api`` defaults to ``wandb.Api()``."""
    if project.count("/") != 1:
        raise UserError(f"source.project '{project}' is not ENTITY/PROJECT: give it as e.g. source.project=my-team/ferlens.")
    api = api or _public_api()
    try:
        runs = list(api.runs(project, filters=run_filters(sweep, group, tags)))
        candidates = [artifact for run in runs for artifact in run.logged_artifacts() if artifact.type == ARTIFACT_TYPE]
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        raise UserError(f"Listing the runs of W&B project '{project}' failed ({reason}): check the project name and your access.") from error
    collection = Collection(label=label, latest=latest)
    described = _described(_latest_versions(candidates), project, collection, strict)
    described = [(artifact, manifest) for artifact, manifest in described if _keeps(filters, artifact, manifest, label)]
    chosen = _newest_runs(described, label, collection) if latest else [artifact for artifact, _ in described]
    cache = Path(cache_dir).expanduser() / project
    for artifact in tqdm(chosen, desc="artifacts", unit="artifact", disable=not chosen):
        name = artifact.name.split(":")[0]
        directory = cache / name / str(artifact.version)
        origin = f"{project}/{name}:{artifact.version}"
        try:
            heatmap_artifact = read_artifact(directory)
        except CorruptArtifactError:  # not cached yet, or a damaged cache: fetch it again
            shutil.rmtree(directory, ignore_errors=True)  # download() leaves existing files as they are
            try:
                artifact.download(root=str(directory), skip_cache=True)
                heatmap_artifact = read_artifact(directory)
            except CorruptArtifactError as error:
                collection.skip(origin, str(error), strict)
                continue
        collection.add(from_artifact(heatmap_artifact, origin, label, parse_time(getattr(artifact, "created_at", None))))
    return collection.told_apart()
