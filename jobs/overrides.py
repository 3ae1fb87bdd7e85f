"""Refuse ``+key=value`` additions that nothing reads. ``+`` adds a key the configs do not
have; train.py reads only the keys they define, so an added key is read only when it lands
inside an instantiated node (a constructor argument, e.g. ``+trainer.gradient_clip_val``)
or names a config group (``+experiment=...``). Anything else, like ``+ckpt_path=...``,
would be accepted by Hydra and silently ignored."""

from __future__ import annotations

import difflib

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from ferlens.user_errors import UserError

# what users type for things ferlens does under another name
KNOWN_MEANINGS = {
    "ckpt_path": "to continue a run use resume=<run dir> or resume=last; to start from a checkpoint's weights use init_from=<.ckpt>.",
    "resume_from_checkpoint": "to continue a run use resume=<run dir> or resume=last.",
}


def _leaf_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    keys = []
    for key, value in cfg.items_ex(resolve=False):
        name = f"{prefix}{key}"
        keys.extend(_leaf_keys(value, f"{name}.") if isinstance(value, DictConfig) else [name])
    return keys


def _read_by_a_constructor(cfg: DictConfig, key: str) -> bool:
    parts = key.split(".")
    for depth in range(1, len(parts)):
        node = OmegaConf.select(cfg, ".".join(parts[:depth]))
        if isinstance(node, DictConfig) and "_target_" in node:
            return True
    return False


def refuse_unread_additions(task_overrides: list[str], cfg: DictConfig, groups: set[str]) -> None:
    """Raise one sentence for the first ``+key=value`` of ``task_overrides`` that lands
    outside every instantiated node of ``cfg`` and is not a config group of ``groups``."""
    for override in OverridesParser.create().parse_overrides(list(task_overrides)):
        if not override.is_add():
            continue
        key = override.key_or_group
        if key in groups or _read_by_a_constructor(cfg, key):
            continue
        name = key.rsplit(".", 1)[-1]
        known = [k for k in _leaf_keys(cfg) if k != key]
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = KNOWN_MEANINGS.get(name) or (f"did you mean {close[0]}=...?" if close else "python train.py --cfg job lists the settings.")
        raise UserError(f"'{override.input_line}' adds a setting that train.py never reads, so it would be silently ignored: {hint}")
