"""Imports flow one way, down the layers below; every package is installed under the one
name ``ferlens``; importing the figure modules chooses no matplotlib backend."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: ferlens' packages and top-level modules, bottom first. A module may import only what
#: stands in a lower layer (and itself): a new package must be placed here to pass.
LAYERS: list[tuple[str, ...]] = [
    ("user_errors",),  # the one user-mistake exception and exit
    ("registry",),  # the one registry by name (explainers, networks, dataset readers): user_errors
    ("faces", "networks"),  # face geometry (landmarks, the template, warping, Ekman and AU masks); the networks
    ("formats", "jobs"),  # shared formats (heatmap artifact, manifest); run mechanics (config resolvers read the networks)
    ("saliency", "datamodules"),  # explainers (read networks' layers); data
    ("evaluation",),  # what a map is worth, by what is measured: localisation (masks, scores), faithfulness, randomisation: saliency
    ("lightning_modules",),  # the LightningModule: networks, saliency (AU guidance)
    ("callbacks",),  # GlobalSaliency and friends: datamodules' transforms, saliency, formats, jobs
    ("analysis",),  # sources, aggregation, statistics, reports: evaluation, formats, datamodules (known truth)
    ("training",),  # the training job
    ("train", "analyze", "__init__"),  # the entry scripts; the package's facade (the public API, each name imported on first use)
]
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}


def _loaded_by(name: str) -> list[str]:
    """The ferlens packages and modules loaded by importing ``name`` and all its submodules."""
    code = (
        "import sys, pkgutil, importlib\n"
        f"top = importlib.import_module('ferlens.{name}')\n"
        "for module in pkgutil.walk_packages(getattr(top, '__path__', []), top.__name__ + '.'): importlib.import_module(module.name)\n"
        "print(' '.join(sorted({m.split('.')[1] for m in sys.modules if m.startswith('ferlens.')})))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout.split()


@pytest.mark.parametrize("name", [name for layer in LAYERS for name in layer])
def test_nothing_imports_its_own_layer_or_above(name):
    upward = [other for other in _loaded_by(name) if other != name and RANK.get(other, len(LAYERS)) >= RANK[name]]
    assert upward == [], f"ferlens.{name} (layer {RANK[name]}) imports {upward}"


def test_every_package_and_module_has_a_layer():
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    modules = {path.stem for path in ROOT.glob("*.py")}
    assert sorted((packages | modules) ^ set(RANK)) == []


def test_every_package_is_installed_under_ferlens():
    """A package left out of pyproject's list imports nowhere once installed: any run started
    outside the repository (``ferlens-prepare`` from the data folder) fails."""
    listed = set(re.findall(r'^\s+"(ferlens(?:\.[a-z_]+)*)",$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE))
    def packages_in(folder: Path, prefix: str) -> set[str]:  # down through folders with an __init__.py only (not .venv/...)
        found = {f"{prefix}.{sub.name}" for sub in folder.iterdir() if (sub / "__init__.py").is_file() and sub.name != "tests"}
        return found | {name for package in found for name in packages_in(folder / package.rsplit(".", 1)[1], package)}

    packages = {"ferlens"} | packages_in(ROOT, "ferlens")
    assert sorted(packages ^ listed) == []


def test_no_bare_package_name_is_installed(tmp_path):
    """Outside the repository only ``ferlens`` imports: ``saliency``, ``callbacks``, ``faces``,
    ``formats`` and ``analysis`` are also distributions on the package index."""
    names = ("saliency", "callbacks", "faces", "formats", "analysis", "networks", "jobs", "training")
    code = f"import importlib.util; print([name for name in {names!r} if importlib.util.find_spec(name)])"
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip() == "[]"
    assert subprocess.run([sys.executable, "-c", "import ferlens.saliency"], cwd=tmp_path, capture_output=True, text=True).returncode == 0


def test_importing_the_explainers_loads_no_timm():
    code = "import sys, ferlens.saliency; print('timm' in sys.modules, 'lightning' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip() == "False False"


def test_importing_figures_does_not_choose_a_matplotlib_backend():
    code = (
        "import matplotlib, ferlens.formats.template_figure, ferlens.analysis.report.figures, ferlens.lightning_modules.reporting\n"
        "print(matplotlib.rcParams._get('backend'))"
    )
    environment = {"MPLBACKEND": "svg", "PATH": ""}
    backend = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=environment).stdout.strip()
    assert backend == "svg"


def test_the_console_scripts_run_from_any_folder(tmp_path):
    """``ferlens-train`` and ``ferlens-analyze`` compose their configs found from the package,
    not the working directory (Hydra looked for a ``ferlens.configs`` module)."""
    scripts = Path(sys.executable).parent
    composed = subprocess.run([str(scripts / "ferlens-train"), "--cfg", "job", "model=vgg16"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert composed.returncode == 0 and "name: vgg16" in composed.stdout, composed.stderr[-2000:]
    helped = subprocess.run([str(scripts / "ferlens-analyze"), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "source: local, paper, wandb" in helped.stdout, helped.stderr[-2000:]
    typo = subprocess.run([str(scripts / "ferlens-train"), "trainer.max_epoch=1"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert typo.stderr.strip() == "Error: trainer.max_epoch is not a setting: did you mean trainer.max_epochs? (+trainer.max_epoch=1 would add it as a new key)"
