"""Shared test helpers: running train.py as a user would, composing configs in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Under pytest-xdist each worker (and every train.py it starts) gets its share of the cores:
# two workers with torch's default of one thread per core oversubscribe the machine, and a
# pair of concurrent runs took 1.6x as long as with one thread each (measured on 2 cores).
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _threads = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(_threads))

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

# small synthetic set for quick runs: 13 subjects, 117 images (fold 2: 27 validation and
# 27 test images, which two ranks cannot split evenly)
SMALL_DATA = ["data.source.num_images=117", "data.source.num_subjects=13", "data.num_folds=4"]


def run_train(*overrides: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python train.py <overrides>`` and return the finished process (text output)."""
    environment = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *overrides], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def compose_train():
    """Compose configs/train.yaml with overrides, as Hydra would for ``train.py``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ferlens.jobs.config_resolvers import register_config_resolvers

    register_config_resolvers()  # as train.py does before composing

    def _compose(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
            return compose(config_name="train", overrides=list(overrides))

    yield _compose
    GlobalHydra.instance().clear()


REFERENCE = ROOT / "reference" / "ekman"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The study's reference data, vendored in the repository (reference/ekman, MIT)."""
    assert REFERENCE.is_dir(), f"reference data missing at {REFERENCE}: the repository is incomplete"
    return REFERENCE
