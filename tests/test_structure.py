"""Imports flow one way: faces/, saliency/ and formats/ never reach back into the data,
training or entry-script layers."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

LAYERS_ABOVE = ("datamodules", "callbacks", "analysis", "train", "analyze")


@pytest.mark.parametrize("package", ["faces", "formats", "saliency", "jobs"])
def test_lower_packages_import_nothing_above_them(package):
    code = (
        f"import sys, pkgutil, importlib, {package}\n"
        f"for module in pkgutil.walk_packages({package}.__path__, '{package}.'): importlib.import_module(module.name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {LAYERS_ABOVE!r}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"{package} imports {loaded}"


def test_importing_figures_does_not_choose_a_matplotlib_backend():
    code = "import matplotlib, formats.template_figure, analysis.figures, lightning_modules.reporting; print(matplotlib.rcParams._get('backend'))"
    environment = {"MPLBACKEND": "svg", "PATH": ""}
    backend = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=environment).stdout.strip()
    assert backend == "svg"


def test_every_top_level_package_is_installed():
    """A package left out of pyproject's list imports from the repository folder only: any
    run started elsewhere (``python -m datamodules.prepare`` from the data folder) fails."""
    import re

    included = re.search(r"^include = \[(.*)\]$", (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    packages = sorted(path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name != "tests")
    assert [name for name in packages if f'"{name}*"' not in included] == []
