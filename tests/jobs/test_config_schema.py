"""The typed schema (jobs/config_schema.py): every experiment file passes it, and a fuzz of
overrides generated from it (wrong types, out-of-range values, unknown keys, misspelt group
options) each ends in one sentence under 300 characters, exit status 1, no traceback,
within 3 s of CPU time (the check's in-process, the script's through the entry scripts, so
that the other jobs of a loaded runner do not count). The value cases run the start-up check in-process on a config composed once
(each override parsed by Hydra's own parser, as the command line would be); unknown keys
and group options go through the whole start-up check; a sample runs the entry scripts."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from ferlens.jobs.config_check import check_start, check_values
from ferlens.jobs.config_help import composed_groups, group_options
from ferlens.jobs.config_resolvers import register_config_resolvers
from ferlens.jobs.config_schema import GROUP, SCHEMAS, declared_settings, register_schemas
from ferlens.user_errors import exit_on_user_error
from tests.conftest import CONFIGS, ROOT

ENTRIES = {"train": "train.py", "analyze": "analyze.py", "prepare": "-m ferlens.datamodules.prepare"}
WHERE_DATA = ROOT / "tests"  # an existing folder, as data.root of the real-data configs


@dataclass(frozen=True)
class Case:
    primary: str
    kind: str  # wrong type | out of range | unknown key | misspelt option
    overrides: tuple[str, ...]  # the context (group choices) first, the fuzzed override last


def _compose(primary: str, overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
            return compose(config_name=primary, overrides=overrides, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()


#: Group choices under which each entry has every declared key (the real data's root and
#: split, DDP's sync_batchnorm).
CONTEXTS = {
    "train": [[], ["data=folder", f"data.root={WHERE_DATA}", "trainer=ddp", "model=vgg16"]],
    "analyze": [[]],
    "prepare": [["data=folder", f"data.root={WHERE_DATA}"]],
}


def _typo(word: str) -> str:
    """``word`` with its last two letters swapped (one more letter when they are equal)."""
    return word[:-2] + word[-1] + word[-2] if len(word) > 2 and word[-1] != word[-2] else word + "q"


def _bad_values(kind: Any, meta: dict) -> list[tuple[str, str]]:
    """(case kind, value as typed) for a setting of ``kind``."""
    if meta.get("kind") == "switch_or_count":
        return [("wrong type", "abc"), ("wrong type", "1.5"), ("out of range", "-1")]
    if meta.get("path") == "dir":
        return [("wrong type", str(ROOT / "README.md"))]  # a file where the folder belongs
    if kind is bool:
        return [("wrong type", value) for value in ("maybe", "2", "1.5", "[true]")]
    if isinstance(kind, type) and issubclass(kind, Enum):
        word = next(iter(kind)).name
        return [("wrong type", value) for value in (_typo(word), f"{word}x", "42", "true")]
    if kind in (int, float):
        wrong = ("abc", "true", "[1]") + (("1.5",) if kind is int else ("nan",))
        cases = [("wrong type", value) for value in wrong]
        low, high, above, also = meta.get("low"), meta.get("high"), meta.get("above"), meta.get("also")
        step = 1 if kind is int else 0.5
        if low is not None:
            cases.append(("out of range", f"{low - step:g}"))
        if also is not None and low is not None and low - step == also[0]:
            cases[-1] = ("out of range", f"{also[0] - step:g}")
        if high is not None:
            cases.append(("out of range", f"{high + step:g}"))
        if above is not None:
            cases.append(("out of range", f"{above:g}"))
        return cases
    return []  # free text, mappings, Any: nothing to get wrong by type


def value_cases() -> list[Case]:
    register_config_resolvers()
    cases = []
    for primary, schema in SCHEMAS.items():
        composed = [(context, _compose(primary, context)) for context in CONTEXTS[primary]]
        for setting in declared_settings(schema):
            context = next((context for context, cfg in composed if OmegaConf.select(cfg, setting.key, default="absent") != "absent"), None)
            if context is None:
                continue
            cases += [Case(primary, kind, (*context, f"{setting.key}={value}")) for kind, value in _bad_values(setting.kind, setting.meta)]
    return cases


def key_cases() -> list[Case]:
    """A misspelt last part of every fifth declared key of each entry."""
    cases = []
    for primary, schema in SCHEMAS.items():
        keys = [setting.key for setting in declared_settings(schema)][::5]
        for key in keys:
            head, _, last = key.rpartition(".")
            typo = f"{head + '.' if head else ''}{_typo(last)}"
            cases.append(Case(primary, "unknown key", (*CONTEXTS[primary][-1], f"{typo}=1")))
    return cases


def option_cases() -> list[Case]:
    """Every option of every group an entry composes, misspelt (list groups as a list)."""
    cases = []
    for primary in SCHEMAS:
        for group in composed_groups(CONFIGS, primary):
            options = group_options(CONFIGS, group)
            for option in options:
                typo = _typo(option)
                if typo not in options:
                    chosen = f"[{typo}]" if group in ("saliency", "callbacks") else typo
                    cases.append(Case(primary, "misspelt option", (f"{group}={chosen}",)))
    return cases


VALUE_CASES, KEY_CASES, OPTION_CASES = value_cases(), key_cases(), option_cases()
CASES = VALUE_CASES + KEY_CASES + OPTION_CASES
ONE_SENTENCE = re.compile(r"^Error: [^\n]+[.?)]$")


def _refusal(case: Case, cfg: DictConfig | None) -> tuple[str, float]:
    """The exit message of the start-up check for ``case`` and the CPU seconds it took."""
    started = time.process_time()
    with pytest.raises(SystemExit) as exited, exit_on_user_error():
        if cfg is None:
            check_start(list(case.overrides), CONFIGS, case.primary)
        else:
            override = OverridesParser.create().parse_override(case.overrides[-1])
            OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
            check_values(cfg, case.primary)
    return str(exited.value.code), time.process_time() - started


def _assert_refused(case: Case, message: str, seconds: float) -> None:
    typed = case.overrides[-1]
    assert ONE_SENTENCE.match(message) and len(message) - len("Error: ") < 300, (typed, message)
    assert "Traceback" not in message and seconds < 3, (typed, seconds)
    assert message.startswith(f"Error: {typed.split('=', 1)[0].split('.')[0]}"), (typed, message)  # it names what was typed


def test_the_fuzz_has_hundreds_of_cases_of_each_kind_and_the_configuration_reference_states_their_count():
    kinds = {kind: sum(case.kind == kind for case in CASES) for kind in ("wrong type", "out of range", "unknown key", "misspelt option")}
    assert len(CASES) >= 300 and min(kinds.values()) >= 10, kinds
    assert f"{len(CASES)} generated overrides" in (ROOT / "docs" / "reference" / "configuration.md").read_text(), len(CASES)


def test_every_wrong_type_and_out_of_range_value_is_one_sentence():
    bases: dict[tuple[str, ...], DictConfig] = {}
    for case in VALUE_CASES:
        context = (case.primary, *case.overrides[:-1])
        if context not in bases:
            bases[context] = _compose(case.primary, list(case.overrides[:-1]))
        message, seconds = _refusal(case, bases[context].copy())
        _assert_refused(case, message, seconds)


def test_every_unknown_key_and_misspelt_option_is_one_sentence():
    register_config_resolvers()
    for case in KEY_CASES + OPTION_CASES:
        message, seconds = _refusal(case, None)
        _assert_refused(case, message, seconds)


SAMPLE = [VALUE_CASES[0], VALUE_CASES[len(VALUE_CASES) // 2], KEY_CASES[-1], next(case for case in OPTION_CASES if case.primary == "prepare")]


@pytest.mark.parametrize("case", SAMPLE, ids=lambda case: f"{case.primary} {case.overrides[-1]}")
def test_the_entry_scripts_exit_1_with_the_same_sentence(case, tmp_path):
    command = [sys.executable, *ENTRIES[case.primary].split(), *case.overrides]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=tmp_path if case.primary == "prepare" else ROOT, capture_output=True, text=True, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)  # the script's CPU time, whatever else runs
    assert done.returncode == 1 and done.stdout == "", done.stderr[-2000:]
    message = done.stderr.strip()
    _assert_refused(case, message, seconds)
    register_config_resolvers()
    cfg = None if case.kind in ("unknown key", "misspelt option") else _compose(case.primary, list(case.overrides[:-1]))
    assert message == _refusal(case, cfg)[0]


@pytest.mark.parametrize("experiment", sorted(path.stem for path in (CONFIGS / "experiment").glob("*.yaml")))
def test_every_experiment_file_passes_the_schema(experiment, compose_train, tmp_path):
    cfg = compose_train(f"experiment={experiment}", f"paths.output_dir={tmp_path}")
    check_values(cfg, "train")


def test_the_schemas_are_structured_configs_in_hydras_config_store():
    register_schemas()
    stored = ConfigStore.instance().list(GROUP)
    assert stored == sorted(f"{name}.yaml" for name in SCHEMAS)
    for schema in SCHEMAS.values():
        node = OmegaConf.structured(schema)
        assert set(node.keys()) == {setting.key.split(".")[0] for setting in declared_settings(schema)}
