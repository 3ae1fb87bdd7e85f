"""``python train.py resume=<run dir>|last``: continue an interrupted run in its own
directory with its own configuration. The command line is rewritten, before Hydra reads
it, into the run's recorded overrides plus ``hydra.run.dir=<run dir>``; train.py then finds
``checkpoints/last.ckpt`` there and Lightning restores epoch, optimizer, scheduler and
callbacks (``callbacks.resume_state`` restores the random number generators)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ferlens.jobs.run_directory import completion, damaged_last_checkpoint, last_checkpoint, resumable_runs
from ferlens.user_errors import UserError

MULTIRUN_FLAGS = ("-m", "--multirun")


def find_run(value: str, log_dir: str | Path) -> Path:
    """The run directory ``resume=value`` names: a path, or ``last`` (the newest resumable
    run under ``log_dir``)."""
    if value == "last":
        runs = resumable_runs(log_dir)
        if not runs:
            raise UserError(
                f"resume=last found no interrupted run under '{log_dir}' "
                "(a run directory with checkpoints/last.ckpt and no completed.json): pass resume=<run dir>."
            )
        return _whole(runs[0]).resolve()
    run_dir = Path(value).expanduser()
    if not run_dir.is_dir():
        raise UserError(f"resume='{value}' is not a directory: pass a train.py run directory (it holds .hydra/ and checkpoints/) or resume=last.")
    if not (run_dir / ".hydra" / "overrides.yaml").is_file():
        raise UserError(
            f"resume='{value}' is not a train.py run directory (no .hydra/overrides.yaml): pass the directory the run printed as its output directory."
        )
    if last_checkpoint(run_dir) is None and completion(run_dir) is None:
        raise UserError(f"resume='{value}' has no checkpoints/last.ckpt (it stopped before its first epoch ended): start the run again instead.")
    return _whole(run_dir).resolve() if completion(run_dir) is None else run_dir.resolve()


def _whole(run_dir: Path) -> Path:
    """``run_dir``, refused in one sentence when its last checkpoint is cut short."""
    damaged = damaged_last_checkpoint(run_dir)
    if damaged:
        raise UserError(damaged)
    return run_dir


def resume_arguments(arguments: list[str], log_dir: str | Path = "logs") -> list[str]:
    """``arguments`` (train.py's command line without the program) with ``resume=...``
    replaced by the named run's overrides and ``hydra.run.dir``; unchanged without it."""
    resumes = [argument for argument in arguments if argument.startswith("resume=")]
    if not resumes:
        return arguments
    others = [argument for argument in arguments if not argument.startswith("resume=")]
    if any(argument in MULTIRUN_FLAGS for argument in others):
        raise UserError(
            "resume= continues one run: to resume a multirun, launch it again with hydra.sweep.dir=<its directory> "
            "(finished jobs are skipped, unfinished ones resume)."
        )
    if len(resumes) > 1 or others:
        raise UserError(
            f"resume= takes no other settings (the run continues with its own, from .hydra/overrides.yaml): drop {' '.join([*resumes[1:], *others])}."
        )
    run_dir = find_run(resumes[0].split("=", 1)[1], Path(log_dir) / "train")
    overrides = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text()) or []
    quoted = str(run_dir).replace("\\", "\\\\").replace("'", "\\'")
    return [*overrides, f"hydra.run.dir='{quoted}'"]
