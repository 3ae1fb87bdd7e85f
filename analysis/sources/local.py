"""``source=local``: heatmap artifacts found under run directories on disk."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from ferlens.analysis.sources.base import DEFAULT_LABEL, Collection, Filters, from_artifact
from ferlens.formats.heatmap_artifact import CorruptArtifactError, read_artifact
from ferlens.formats.importance_evidence import IMPORTANCE_FILE
from ferlens.jobs.run_directory import is_debug_artifact
from ferlens.user_errors import UserError

log = logging.getLogger(__name__)


def _search_root(path: Path) -> Path:
    """A W&B run directory (``<run>/wandb/offline-run-*``) is searched from the training
    run directory that holds it, where GlobalSaliency writes ``heatmaps/``."""
    if path.parent.name == "wandb" and path.name.startswith(("offline-run-", "run-")):
        return path.parent.parent
    return path


def artifact_directories(paths: list[str | Path]) -> list[Path]:
    """Every directory holding a ``manifest.json`` under ``paths`` (each an artifact, a run
    directory, a W&B run directory or any folder above them), sorted, without repeats; a run's
    region-importance evidence (``importance/<name>/``, read by the analysis beside its heatmaps)
    is no heatmap artifact and left out."""
    found: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise UserError(f"'{path}' does not exist: give run directories (e.g. logs/train/runs/<time>) or folders above them in source.paths.")
        root = _search_root(path.resolve())
        manifests = [root / "manifest.json"] if (root / "manifest.json").is_file() else root.rglob("manifest.json")
        found.update(manifest.parent for manifest in manifests if not (manifest.parent / IMPORTANCE_FILE).is_file())
    return sorted(found)


def collect_local(paths: list[str | Path], filters: Filters, label: str = DEFAULT_LABEL, strict: bool = False, latest: bool = False) -> Collection:
    """Read and verify every artifact under ``paths`` that passes ``filters``. ``latest``:
    per (network label, method, fold, dataset) only the set of the newest run, by the
    manifest's ``run.started``, or the artifact directory's modification time when the
    manifest predates that field."""
    collection = Collection(label=label, latest=latest)
    named = _named_runs(paths)
    debug = []
    for directory in artifact_directories(paths):
        if is_debug_artifact(directory) and not any(run == directory or run in directory.parents for run in named):
            debug.append(directory)
            continue
        written = datetime.fromtimestamp(directory.stat().st_mtime, timezone.utc)
        try:
            heatmap_set = from_artifact(read_artifact(directory), str(directory), label, written)
        except CorruptArtifactError as error:
            collection.skip(str(directory), str(error), strict)
            continue
        if filters.keeps(heatmap_set.network, heatmap_set.method, heatmap_set.fold, heatmap_set.run):
            collection.add(heatmap_set)
    if debug:
        log.warning(
            "left out %d heatmap artifact%s of debug runs (trainer.fast_dev_run): %s; name such a run's directory in source.paths to analyze it.",
            len(debug),
            "" if len(debug) == 1 else "s",
            ", ".join(map(str, debug)),
        )
    return collection.told_apart()


def _named_runs(paths: list[str | Path]) -> list[Path]:
    """The given paths that are a run directory (``.hydra/``) or an artifact themselves, not
    folders above them: a debug run's artifacts under them are analyzed as asked."""
    roots = [_search_root(Path(given).expanduser().resolve()) for given in paths]
    return [root for root in roots if (root / ".hydra").is_dir() or (root / "manifest.json").is_file()]
