"""What a training run's directory holds besides Hydra's ``.hydra/``, for resuming and
skipping: ``checkpoints/last.ckpt`` (written after every epoch), ``completed.json`` (the
marker of a finished job, with its metrics) and ``wandb_run_id`` (the run's one W&B id)."""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
#: The file that marks a heatmap artifact of a debug run (``trainer.fast_dev_run``), which
#: ``analyze.py`` leaves out unless its run is named.
DEBUG_RUN = "debug_run.txt"
COMPLETED = "completed.json"
WANDB_RUN_ID = "wandb_run_id"


def last_checkpoint(run_dir: str | Path) -> Path | None:
    """The run's ``checkpoints/last.ckpt``, or None when it has none."""
    path = Path(run_dir) / LAST_CHECKPOINT
    return path if path.is_file() else None


def readable_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a whole checkpoint: torch writes a zip archive whose directory is
    at its end, so a file cut short (a full disk, a killed copy) has none."""
    return zipfile.is_zipfile(path)


def damaged_last_checkpoint(run_dir: str | Path) -> str | None:
    """One sentence when the run's ``checkpoints/last.ckpt`` is cut short, naming the older
    whole checkpoints (``epoch*.ckpt``) to resume from instead; None when it is whole or absent."""
    last = last_checkpoint(run_dir)
    if last is None or readable_checkpoint(last):
        return None
    older = [path for path in sorted(last.parent.glob("epoch*.ckpt")) if readable_checkpoint(path)]
    if older:
        instead = f"resume from an older checkpoint by copying it over last.ckpt ({', '.join(path.name for path in older)} in {last.parent})"
    else:
        instead = "no older checkpoint can be resumed instead, so start the run again"
    return f"{last} is damaged (cut short, not a readable checkpoint) and cannot be resumed: {instead}."


def is_debug_artifact(directory: str | Path) -> bool:
    """Whether the heatmap artifact in ``directory`` comes from a debug run (``DEBUG_RUN``)."""
    return (Path(directory) / DEBUG_RUN).is_file()


def completion(run_dir: str | Path) -> dict[str, Any] | None:
    """The completion marker of a finished job (``finished``: ISO time, ``metrics``), or None.
    A marker that cannot be read counts as absent: the job runs (resumes) again."""
    path = Path(run_dir) / COMPLETED
    try:
        marker = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and "finished" in marker else None


def mark_completed(run_dir: str | Path, metrics: dict[str, float]) -> Path:
    """Write the completion marker (atomically: a half-written marker never exists)."""
    path = Path(run_dir) / COMPLETED
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "metrics": metrics}, indent=1, sort_keys=True))
    os.replace(temporary, path)
    return path


def wandb_run_id(run_dir: str | Path) -> str:
    """The run's W&B id: the one stored in the directory (a resumed run continues its W&B
    run), else a W&B agent's (``WANDB_RUN_ID``), else a new one; stored for next time."""
    path = Path(run_dir) / WANDB_RUN_ID
    if path.is_file() and (stored := path.read_text().strip()):
        return stored
    from wandb.sdk.lib.runid import generate_id

    run_id = os.environ.get("WANDB_RUN_ID") or generate_id()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(run_id + "\n")
    return run_id


def resumable_runs(log_dir: str | Path) -> list[Path]:
    """Run directories under ``log_dir`` (single runs and multirun jobs) that hold a last
    checkpoint and no completion marker, the most recently written first."""
    found = {checkpoint.parent.parent for checkpoint in Path(log_dir).glob(f"**/{LAST_CHECKPOINT.as_posix()}")}
    runs = [run for run in found if (run / ".hydra" / "overrides.yaml").is_file() and completion(run) is None]
    return sorted(runs, key=lambda run: (run / LAST_CHECKPOINT).stat().st_mtime, reverse=True)


#: What a run writes before it has a result: Hydra's config, the log, the W&B id and the
#: loggers' folders (configs/logger).
BOOKKEEPING = (".hydra", "train.log", WANDB_RUN_ID, "wandb", "csv")


def remove_if_empty(run_dir: str | Path) -> bool:
    """Remove the directory of a failed run that holds only what a run writes before it has
    a result (``BOOKKEEPING``: no checkpoint, heatmap or completion marker, and nothing else
    either, so a directory given with ``hydra.run.dir`` that held files is never touched): a
    failed command leaves no empty run behind (its one sentence is on the console). Returns
    whether it was removed."""
    path = Path(run_dir)
    if not path.is_dir() or any(entry.name not in BOOKKEEPING for entry in path.iterdir()):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True
