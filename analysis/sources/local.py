"""``source=local``: heatmap artifacts found under run directories on disk."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from ferlens.analysis.sources.base import DEFAULT_LABEL, Collection, Filters, from_artifact
from ferlens.formats.heatmap_artifact import CorruptArtifactError, read_artifact
from ferlens.user_errors import UserError


def _search_root(path: Path) -> Path:
    """A W&B run directory (``<run>/wandb/offline-run-*``) is searched from the training
    run directory that holds it, where GlobalSaliency writes ``heatmaps/``."""
    if path.parent.name == "wandb" and path.name.startswith(("offline-run-", "run-")):
        return path.parent.parent
    return path


def artifact_directories(paths: list[str | Path]) -> list[Path]:
    """Every directory holding a ``manifest.json`` under ``paths`` (each an artifact, a run
    directory, a W&B run directory or any folder above them), sorted, without repeats."""
    found: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise UserError(f"'{path}' does not exist: give run directories (e.g. logs/train/runs/<time>) or folders above them in source.paths.")
        root = _search_root(path.resolve())
        manifests = [root / "manifest.json"] if (root / "manifest.json").is_file() else root.rglob("manifest.json")
        found.update(manifest.parent for manifest in manifests)
    return sorted(found)


def collect_local(paths: list[str | Path], filters: Filters, label: str = DEFAULT_LABEL, strict: bool = False, latest: bool = False) -> Collection:
    """Read and verify every artifact under ``paths`` that passes ``filters``. ``latest``:
    per (network label, method, fold, dataset) only the set of the newest run, by the
    manifest's ``run.started``, or the artifact directory's modification time when the
    manifest predates that field."""
    collection = Collection(label=label, latest=latest)
    for directory in artifact_directories(paths):
        written = datetime.fromtimestamp(directory.stat().st_mtime, timezone.utc)
        try:
            heatmap_set = from_artifact(read_artifact(directory), str(directory), label, written)
        except CorruptArtifactError as error:
            collection.skip(str(directory), str(error), strict)
            continue
        if filters.keeps(heatmap_set.network, heatmap_set.method, heatmap_set.fold, heatmap_set.run):
            collection.add(heatmap_set)
    return collection.told_apart()
