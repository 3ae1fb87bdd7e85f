"""Checking what a user typed before any work starts (before torch is imported): the command
line's keys (a typo gets the nearest valid key), the shape of what it sets (a list where a
mapping belongs), and every value against its declared type and range (``jobs.config_schema``:
``train=maybe``, a batch of 0 images, -5 epochs, ``trainer.accelerator=gpx``, a file as
``data.root``), each refused in one sentence that names the fix (``UserError``)."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Any, get_origin, get_type_hints

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, OverrideParseException
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ferlens.jobs.config_help import unknown_option_message
from ferlens.jobs.config_schema import SCHEMAS, inner, is_block, optional
from ferlens.user_errors import UserError

#: Flags after which nothing is run (help, info) or that sweep (checked per job instead).
_NOT_CHECKED = ("--help", "-h", "--hydra-help", "--info", "-i", "--multirun", "-m", "--shell-completion", "-sc")


_ABSENT = object()
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class Checked:
    """A value as its declared type reads it (``"no"`` → False), or the problem with it."""

    value: Any = None
    problem: str | None = None


def check_values(cfg: DictConfig, primary: str) -> None:
    """Check every setting ``cfg`` (the composed config of ``primary``) has against its
    declared type and range (``jobs.config_schema``), refuse the first that breaks it in one
    sentence, and write a switch typed as a word (``train=no``, ``data.augment=off``) back
    as the boolean it means, so that the job never reads the string. A fold beyond the
    folds is refused too."""
    for key, value, kind, meta in _declared(cfg, SCHEMAS[primary], ""):
        checked = _check(value, kind, meta)
        if checked.problem:
            fix = meta.get("fix") if meta else None
            raise UserError(f"{key}={_shown(value)} {checked.problem}{f': {fix}' if fix else ''}.")
        if checked.value is not value and isinstance(checked.value, bool):
            OmegaConf.update(cfg, key, checked.value, merge=False)
    if primary == "train" and OmegaConf.select(cfg, "data.split", default=None) == "kfold":
        fold, folds = OmegaConf.select(cfg, "data.fold"), OmegaConf.select(cfg, "data.num_folds")
        if isinstance(fold, int) and isinstance(folds, int) and fold > folds:
            raise UserError(f"data.fold={fold} is beyond data.num_folds={folds}: choose a fold from 1 to {folds}.")


def _declared(cfg: DictConfig, schema: type, prefix: str) -> Iterator[tuple[str, Any, Any, dict]]:
    """(key, value, declared type, metadata) of each setting of ``schema`` that ``cfg`` has,
    a block's own value first (it must be a mapping), then its settings."""
    hints = get_type_hints(schema)
    for spec in fields(schema):
        key, kind = f"{prefix}{spec.name}", inner(hints[spec.name])
        try:
            node = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
            if is_block(kind) and isinstance(node, DictConfig):
                yield from _declared(cfg, kind, f"{key}.")  # each setting resolved on its own
                continue
            value = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig | ListConfig) else node
        except OmegaConfBaseException:
            continue  # an interpolation only the job can resolve (${hydra:...}): the job checks it
        if value is _ABSENT or (value is None and (kind is Any or optional(hints[spec.name]))):
            continue  # a key this config does not have (e.g. data.root of the synthetic faces), or null where allowed
        if is_block(kind):
            yield key, value, dict, {"fix": f"set one of its settings, e.g. {key}.<name>=<value>"}
        else:
            yield key, value, kind, dict(spec.metadata)


def _check(value: Any, kind: Any, meta: dict) -> Checked:
    """``value`` read as ``kind`` (bool, int, float, str, an Enum of words, dict, Any) within
    the metadata's range and path kind."""
    if value in meta.get("words", ()):
        return Checked(value)
    if meta.get("kind") == "switch_or_count":
        switch = _switch(value)
        return switch if switch.problem is None or _whole(value) is None else _number(value, int, meta)
    if kind is dict or get_origin(kind) is dict:
        return Checked(value) if isinstance(value, dict) else Checked(problem="is not a group of settings")
    if value is None:
        return Checked(problem="must be set (it cannot be null)")
    if kind is bool:
        return _switch(value)
    if kind in (int, float):
        return _number(value, kind, meta)
    if isinstance(kind, type) and issubclass(kind, Enum):
        words = [member.name for member in kind]
        if value in words:
            return Checked(value)
        nearest = difflib.get_close_matches(str(value), words, n=1, cutoff=0.6)
        listed = all(re.search(rf"\b{word}\b", meta.get("fix", "")) for word in words)  # the fix names them with their meanings
        return Checked(problem=f"is not {'a choice' if listed else 'one of ' + ', '.join(words)}{f' (did you mean {nearest[0]}?)' if nearest else ''}")
    if kind is str:
        if not isinstance(value, str):
            return Checked(problem="is not a text or a path")
        if meta.get("path") == "dir" and Path(value).expanduser().is_file():
            return Checked(problem=f"is a file; {meta['note']}")
        return Checked(value)
    return Checked(value)  # Any


def _switch(value: Any) -> Checked:
    """true/false, and the words and digits that mean them (yes/no, on/off, 1/0)."""
    if isinstance(value, bool):
        return Checked(value)
    spelled = str(value).strip().lower() if isinstance(value, str | int) else None
    if spelled in _TRUE or spelled in _FALSE:
        return Checked(spelled in _TRUE)
    return Checked(problem="is not true or false (yes/no, on/off and 1/0 are read as true/false too)")


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any, kind: type, meta: dict) -> Checked:
    """A whole number (``int``) or any finite number (``float``) within ``low``/``high``/``above``."""
    if kind is int and _whole(value) is None:
        return Checked(problem="is not a whole number")
    if kind is float and (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)):
        return Checked(problem="is not a number")
    low, high, above, also = meta.get("low"), meta.get("high"), meta.get("above"), meta.get("also")
    if also is not None and value == also[0]:
        return Checked(value)
    extra = f", or {also[0]} {also[1]}" if also else ""
    if above is not None and not value > above:
        return Checked(problem=f"must be above {above:g}{extra}")
    if low is not None and value < low:
        bound = f"at least {low:g}" if high is None else f"from {low:g} to {high:g}"
        return Checked(problem=f"must be {bound}{extra}")
    if high is not None and value > high:
        return Checked(problem=f"must be {'at most' if low is None else f'from {low:g} to'} {high:g}")
    return Checked(value)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{_shown(item)}" for key, item in value.items()) + "}"
    return "null" if value is None else (f"[{','.join(map(_shown, value))}]" if isinstance(value, list) else str(value))


def check_start(arguments: list[str], config_dir: Path, primary: str) -> None:
    """Everything checked before Hydra runs ``primary`` (and before torch loads): the group
    options the command line chooses (``model=vgg61``), then its keys and values."""
    unknown = unknown_option_message(arguments, config_dir, primary)
    if unknown:
        raise UserError(unknown)
    check_command_line(arguments, config_dir, primary)


def check_command_line(arguments: list[str], config_dir: Path, primary: str) -> None:
    """Compose ``primary`` with the command line's overrides as Hydra will, and refuse in
    one sentence a key that does not exist (with the nearest one), a list or value set where a
    mapping is, or a value the run cannot use (``check_values``). Multirun sweeps and help
    flags are left to Hydra (each job's values are checked when it starts)."""
    if any(argument in _NOT_CHECKED for argument in arguments):
        return
    overrides = [argument for argument in arguments if not argument.startswith("-") and "=" in argument]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException:
        return  # Hydra reports syntax errors itself
    if any(override.is_sweep_override() for override in parsed):
        return
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            try:
                cfg = compose(config_name=primary, overrides=overrides, return_hydra_config=True)
            except ConfigCompositionException as error:
                raise UserError(_composition_sentence(error, parsed, config_dir, primary)) from None
    finally:
        GlobalHydra.instance().clear()
    check_values(cfg, primary)


def _composition_sentence(error: ConfigCompositionException, parsed: list, config_dir: Path, primary: str) -> str:
    """One sentence for Hydra's composition error: the override it names, and what to do."""
    cause = str(error.__cause__ or "")
    failed = next((override for override in parsed if f"'{override.key_or_group}'" in str(error) or f"override {override.input_line}" in str(error)), None)
    if failed is None:
        return f"{str(error).splitlines()[0]} ({cause.splitlines()[0] if cause else 'Hydra'})."
    key, typed = failed.key_or_group, failed.input_line
    if "not in struct" in cause:
        return _unknown_key_sentence(key, typed, parsed, config_dir, primary)
    if "Cannot merge DictConfig with ListConfig" in cause or "Cannot assign" in cause or "Merge error" in cause:
        return f"{typed} sets {key} to a {'list' if '[' in typed else 'value'}, but {key} is a group of settings: set one of them, e.g. {key}.<name>=<value>."
    reason = cause.splitlines()[0] if cause else str(error).splitlines()[0]
    return f"{typed} cannot be applied ({reason}): check the key and its value with python {primary}.py --cfg job."


def _unknown_key_sentence(key: str, typed: str, parsed: list, config_dir: Path, primary: str) -> str:
    """``trainer.max_epoch`` → "... did you mean trainer.max_epochs?", from the keys beside it
    in the config composed with the same group choices."""
    choices = [override.input_line for override in parsed if "." not in override.key_or_group and not override.is_add()]
    try:
        cfg = compose(config_name=primary, overrides=choices)
    except ConfigCompositionException:
        cfg = compose(config_name=primary)
    node, parts = cfg, key.split(".")
    for depth, part in enumerate(parts):  # down to the first part that is not there
        if not isinstance(node, DictConfig):
            above = ".".join(parts[:depth])
            return f"{typed} sets a key under {above}, which is a value, not a group of settings: check the key with python {primary}.py --cfg job."
        if part not in node:
            break
        node = node[part]
    place = ".".join(parts[:depth])
    nearest = difflib.get_close_matches(part, [str(name) for name in node.keys()], n=1, cutoff=0.6)
    within = f"{place}." if place else ""
    where = f"in {place}" if place else "at the top"
    suggestion = f"did you mean {within}{nearest[0]}?" if nearest else f"the settings {where} are {', '.join(map(str, node.keys()))}"
    return f"{key} is not a setting: {suggestion} (+{typed} would add it as a new key)"
