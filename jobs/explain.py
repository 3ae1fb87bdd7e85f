"""``python train.py explain=<run dir> [saliency=[...]] [callbacks.global_saliency.split=val] [+sanity=mprt]``:
the global heatmaps of a trained run's best checkpoint, without training. The command line is
rewritten, before Hydra reads it, into the run's own overrides (network, data, fold, seed),
``train=false test=false init_from=<its best checkpoint>`` and the user's other settings,
which win over the run's. The heatmaps go to a new run directory."""

from __future__ import annotations

from pathlib import Path

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from ferlens.jobs.run_directory import last_checkpoint
from ferlens.user_errors import UserError


def best_checkpoint(run_dir: Path) -> Path:
    """The run's best checkpoint (``checkpoints/epoch*.ckpt``, the newest if several), else
    its ``last.ckpt``."""
    best = sorted((run_dir / "checkpoints").glob("epoch*.ckpt"), key=lambda path: path.stat().st_mtime)
    chosen = best[-1] if best else last_checkpoint(run_dir)
    if chosen is None:
        raise UserError(f"explain='{run_dir}' has no checkpoint (checkpoints/epoch*.ckpt or last.ckpt): train it first, or pass init_from=<.ckpt>.")
    return chosen


def explain_arguments(arguments: list[str]) -> list[str]:
    """``arguments`` with ``explain=<run dir>`` replaced by the run's overrides, its best
    checkpoint and no training; unchanged without it."""
    explains = [argument for argument in arguments if argument.startswith("explain=")]
    if not explains:
        return arguments
    others = [argument for argument in arguments if not argument.startswith("explain=")]
    if len(explains) > 1:
        raise UserError(f"explain= takes one run directory: got {' '.join(explains)}.")
    run_dir = Path(explains[0].split("=", 1)[1]).expanduser()
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    if not overrides_file.is_file():
        raise UserError(f"explain='{run_dir}' is not a train.py run directory (no .hydra/overrides.yaml): pass the output directory a run printed.")
    checkpoint = best_checkpoint(run_dir).resolve()
    parser = OverridesParser.create()
    given = {override.key_or_group for override in parser.parse_overrides([o for o in others if not o.startswith("-")])}
    replaced = given | {"train", "test", "init_from"}
    recorded = [o for o in yaml.safe_load(overrides_file.read_text()) or [] if parser.parse_override(o).key_or_group not in replaced]
    quoted = str(checkpoint).replace("\\", "\\\\").replace("'", "\\'")
    return [*recorded, "train=false", "test=false", f"init_from='{quoted}'", *others]
