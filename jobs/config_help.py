"""The config groups one entry script offers, for its ``--help`` and to refuse an unknown
option in one sentence. Hydra's own help lists every folder of ``configs/`` (analyze's
``source`` under ``train.py``, the W&B ``sweep`` files, the ``_real`` base config), so each
script lists the groups its primary config composes."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep
from hydra.errors import OverrideParseException
from omegaconf import OmegaConf

from ferlens.jobs.config_schema import schema_text

#: Resolver names for ``hydra.help.template``: ``${ferlens_config_groups:train}``, and the
#: typed settings of the schema (``jobs/config_schema.py``): ``${ferlens_typed_settings:train}``.
RESOLVER = "ferlens_config_groups"
TYPES_RESOLVER = "ferlens_typed_settings"


def composed_groups(config_dir: Path, primary: str) -> list[str]:
    """The config groups named in the defaults list of ``<config_dir>/<primary>.yaml``, in
    order (``_self_`` and ``override hydra/...`` entries left out)."""
    defaults = yaml.safe_load((config_dir / f"{primary}.yaml").read_text()).get("defaults", [])
    groups = []
    for entry in defaults:
        if isinstance(entry, dict):
            group = next(iter(entry)).removeprefix("optional ").strip()
            if not group.startswith("override "):
                groups.append(group)
    return groups


def group_options(config_dir: Path, group: str) -> list[str]:
    """The options of a group: its ``.yaml`` files, without those whose name starts with
    ``_`` (bases other options extend, not choices)."""
    return sorted(path.stem for path in (config_dir / group).glob("*.yaml") if not path.stem.startswith("_"))


def config_groups_text(config_dir: Path, primary: str) -> str:
    """``group: option, option`` lines for the groups ``primary`` composes, as Hydra's help
    prints them."""
    return "\n".join(f"{group}: {', '.join(group_options(config_dir, group))}" for group in composed_groups(config_dir, primary))


def register_help_resolver(config_dir: Path) -> None:
    """Register ``${ferlens_config_groups:<primary>}`` for the help templates in the configs."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, lambda primary: config_groups_text(config_dir, primary))
    if not OmegaConf.has_resolver(TYPES_RESOLVER):
        OmegaConf.register_new_resolver(TYPES_RESOLVER, schema_text)


def _chosen_options(value: Any) -> list[str]:
    """The option names an override's parsed value chooses: one name, a list of names
    (``saliency=[gradcam,lime]``) or a sweep over either (``model=vgg16,resnet50``)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [name for item in value for name in _chosen_options(item)]
    if isinstance(value, ChoiceSweep):
        return _chosen_options(list(value.list))
    return []  # glob(), null, deletions: left to Hydra


def unknown_option_message(arguments: list[str], config_dir: Path, primary: str) -> str | None:
    """One sentence for the first override among the command-line ``arguments`` (flags such
    as ``-m`` and ``--cfg job`` are passed over) that chooses an option its group does not
    have (``saliency=[shap]``), listing the valid ones; None when every choice exists.
    Hydra's own message lists no options for list groups and comes with its search path."""
    groups = set(composed_groups(config_dir, primary))
    addable = {path.name for path in config_dir.iterdir() if path.is_dir() and path.name != "hydra"}  # +group=option (e.g. +sanity=mprt)
    overrides = [argument for argument in arguments if "=" in argument and not argument.startswith("-")]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException:
        return None  # Hydra reports syntax errors itself
    for override in parsed:
        group = override.key_or_group
        known = groups | (addable if override.is_add() else set())
        if group not in known or override.package is not None or override.is_delete():
            continue
        options = group_options(config_dir, group)
        unknown = [name for name in _chosen_options(override.value()) if name not in options]
        if unknown:
            return _no_option(group, unknown, options)
    return None


#: the longest list of options a refusal spells out; a longer one is named by its closest matches
LISTED_OPTIONS = 200


def _no_option(group: str, unknown: list[str], options: list[str]) -> str:
    """One sentence under 300 characters: the valid options when they are few, else the
    closest matches of each unknown name and where the full list is."""
    names = ", ".join(repr(name) for name in unknown)
    listed = ", ".join(options)
    if len(listed) <= LISTED_OPTIONS:
        return f"{group} has no option {names}: choose from {listed} (configs/{group}/)."
    close = list(dict.fromkeys(match for name in unknown for match in difflib.get_close_matches(name, options, n=3, cutoff=0.5)))
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return f"{group} has no option {names}: {hint}Its {len(options)} options are the files of configs/{group}/ (--help lists them)."
