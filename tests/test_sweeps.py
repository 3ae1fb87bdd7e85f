"""W&B sweep files: every grid point, turned into a command line exactly as ``wandb agent``
does it (with wandb's own functions), is a valid train.py command."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
import yaml
from wandb.sdk.launch.sweeps import utils as sweep_utils

from ferlens.jobs.config_check import check_values
from ferlens.jobs.overrides import refuse_unread_additions
from tests.conftest import CONFIGS, ROOT

SWEEPS = sorted((CONFIGS / "sweep").glob("*.yaml"))


def grid_points(sweep: dict) -> list[dict]:
    """Every point of a grid sweep, as the agent's ``command["args"]`` ({name: {"value": v}})."""
    names = list(sweep["parameters"])
    choices = [spec["values"] if "values" in spec else [spec["value"]] for spec in sweep["parameters"].values()]
    return [{name: {"value": value} for name, value in zip(names, values, strict=True)} for values in itertools.product(*choices)]


def agent_command(sweep: dict, args: dict) -> list[str]:
    """The command list ``wandb agent`` runs for one point (wandb_agent.Agent._command_run)."""
    command = sweep_utils.create_sweep_command(list(sweep["command"]))
    variables = sweep_utils.create_sweep_command_args({"args": args})
    variables.update(interpreter=["python"], program=[sweep["program"]], env=["/usr/bin/env"])
    argv: list[str] = []
    for chunk in map(str, command):
        argv += (variables.get(chunk[2:-1]) or []) if chunk.startswith("${") and chunk.endswith("}") else [chunk]
    return argv


def test_the_sweeps_are_the_studys_grids():
    paper, guidance = (yaml.safe_load((CONFIGS / "sweep" / f"{name}.yaml").read_text()) for name in ("paper", "au_guidance"))
    assert len(grid_points(paper)) == 60 and len(grid_points(guidance)) == 24
    models = paper["parameters"]["model"]["values"]
    assert len(set(models)) == 12 and all((CONFIGS / "model" / f"{model}.yaml").is_file() for model in models)
    assert paper["program"] == guidance["program"] == "train.py" and (ROOT / "train.py").is_file()


@pytest.mark.parametrize("path", SWEEPS, ids=lambda path: path.stem)
def test_every_grid_point_as_the_agent_builds_it_composes(path, compose_train):
    sweep = yaml.safe_load(path.read_text())
    assert sweep["method"] == "grid" and sweep["command"] == ["${env}", "${interpreter}", "${program}", "${args_no_hyphens}"]
    for args in grid_points(sweep):
        argv = agent_command(sweep, args)
        assert argv[:3] == ["/usr/bin/env", "python", "train.py"]
        cfg = compose_train(*argv[3:])
        for name, spec in args.items():
            if name == "model":
                assert cfg.model.net.name == spec["value"]
            elif name != "experiment":
                value = cfg
                for part in name.split("."):
                    value = value[part]
                assert (list(value) if isinstance(spec["value"], list) else value) == spec["value"], (name, argv)
        refuse_unread_additions(argv[3:], cfg, set())
        check_values(cfg, "train")  # the typed schema


def test_train_py_accepts_the_agents_argv_with_a_list_value():
    sweep = yaml.safe_load((CONFIGS / "sweep" / "au_guidance.yaml").read_text())
    args = next(point for point in grid_points(sweep) if len(point["model.au_guidance.layers"]["value"]) == 3)
    argv = agent_command(sweep, args)
    assert "model.au_guidance.layers=['backbone.layer2', 'backbone.layer3', 'backbone.layer4']" in argv  # the agent writes Python lists
    printed = subprocess.run([sys.executable, *argv[2:], "--cfg", "job"], cwd=ROOT, capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr[-2000:]
    config = yaml.safe_load(printed.stdout)
    assert config["model"]["au_guidance"]["layers"] == ["backbone.layer2", "backbone.layer3", "backbone.layer4"]
    assert config["model"]["net"]["name"] == "resnet50" and config["model"]["au_guidance"]["weight"] == args["model.au_guidance.weight"]["value"]
