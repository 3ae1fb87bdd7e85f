"""Checking what a user typed before any work starts (before torch is imported): the command
line's keys (a typo gets the nearest valid key), the shape of what it sets (a list where a
mapping belongs), and the values the run relies on (a batch of 0 images, -5 epochs), each
refused in one sentence that names the fix (``UserError``)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, OverrideParseException
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ferlens.user_errors import UserError

#: Flags after which nothing is run (help, info) or that sweep (checked per job instead).
_NOT_CHECKED = ("--help", "-h", "--hydra-help", "--info", "-i", "--multirun", "-m", "--shell-completion", "-sc")


_ABSENT = object()


@dataclass(frozen=True)
class Rule:
    """``key`` (a dotted config path) must pass ``check``; ``fix`` completes the sentence
    ``<key>=<value> <problem>: <fix>``."""

    key: str
    check: Callable[[Any], str | None]  # the problem with a value, or None when it is fine
    fix: str


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def whole(value: Any) -> str | None:
    return "is not a whole number" if _whole(value) is None else None


def positive_whole(value: Any) -> str | None:
    number = _whole(value)
    return "is not a whole number" if number is None else ("must be at least 1" if number < 1 else None)


def non_negative_whole(value: Any) -> str | None:
    number = _whole(value)
    return "is not a whole number" if number is None else ("must not be negative" if number < 0 else None)


def epochs(value: Any) -> str | None:
    number = _whole(value)
    return "is not a whole number" if number is None else ("must be at least 1, or -1 for no limit" if number < -1 or number == 0 else None)


def positive_number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "is not a number"
    return "must be above 0" if not value > 0 else None


def optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda value: None if value is None else check(value)


def mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else "is not a mapping"


TRAIN_RULES = (
    Rule("data.batch_size", positive_whole, "give the number of training images per batch, e.g. data.batch_size=64"),
    Rule("data.eval_batch_size", optional(positive_whole), "give the number of validation and test images per batch, e.g. data.eval_batch_size=128"),
    Rule("data.num_workers", non_negative_whole, "give the number of DataLoader worker processes, 0 to load in the main process"),
    Rule("data.num_folds", optional(positive_whole), "give the number of subject-independent folds, e.g. data.num_folds=5"),
    Rule("data.fold", optional(positive_whole), "give the fold to test on, from 1 to data.num_folds"),
    Rule("trainer.max_epochs", epochs, "give the number of epochs, e.g. trainer.max_epochs=12"),
    Rule("trainer.accumulate_grad_batches", optional(positive_whole), "give the number of batches whose gradients make one step, e.g. 4"),
    Rule("model.optimizer.lr", optional(positive_number), "give the learning rate, e.g. model.optimizer.lr=1e-4"),
    Rule("seed", whole, "give an integer seed, e.g. seed=42"),
)
ANALYZE_RULES = (
    Rule("masks", mapping, "name each mask family, e.g. masks.mine=<directory of template masks> (masks.ekman=ekman and masks.au=au are the defaults)"),
    Rule("filters", mapping, "set one filter at a time, e.g. filters.model=[vgg16,resnet50]"),
    Rule("min_count", non_negative_whole, "give the fewest images a class heatmap needs, e.g. min_count=1"),
    Rule("statistics.resamples", positive_whole, "give the number of bootstrap resamples, e.g. statistics.resamples=2000"),
    Rule("statistics.permutations", positive_whole, "give the number of permutations, e.g. statistics.permutations=9999"),
)
RULES = {"train": TRAIN_RULES, "analyze": ANALYZE_RULES}


def check_values(cfg: DictConfig, primary: str) -> None:
    """Refuse the first value of ``cfg`` (the composed config of ``primary``) that breaks one
    of its rules, and a fold outside the folds."""
    for rule in RULES[primary]:
        try:
            node = OmegaConf.select(cfg, rule.key, default=_ABSENT, throw_on_missing=False)
            value = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig | ListConfig) else node
        except OmegaConfBaseException:
            continue  # an interpolation only the job can resolve (${hydra:...}): the job checks it
        if value is _ABSENT:
            continue  # a key this config does not have (e.g. data.fold of an official split)
        problem = rule.check(value)
        if problem:
            raise UserError(f"{rule.key}={_shown(value)} {problem}: {rule.fix}.")
    if primary == "train" and OmegaConf.select(cfg, "data.split", default=None) == "kfold":
        fold, folds = OmegaConf.select(cfg, "data.fold"), OmegaConf.select(cfg, "data.num_folds")
        if isinstance(fold, int) and isinstance(folds, int) and fold > folds:
            raise UserError(f"data.fold={fold} is beyond data.num_folds={folds}: choose a fold from 1 to {folds}.")


def _shown(value: Any) -> str:
    return "null" if value is None else (f"[{','.join(map(str, value))}]" if isinstance(value, list) else str(value))


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
