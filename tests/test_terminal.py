"""The default run on a real pseudo-terminal (tmux, 120 columns), as a user sees it: the
captured screen must be clean (it showed raw escape codes, a heatmap bar as five lines, the
last epoch's bar twice, a path glued to the bar, epoch numbers that disagreed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _tmux(socket: str, *arguments: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *arguments], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> tuple:
    """``python train.py`` in a fresh folder on a 120 x 50 tmux terminal: (folder, exit
    status, the whole captured screen with its scrollback, wrapped lines joined)."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: this test needs a real pseudo-terminal (.ci/run installs Debian's tmux)")
    folder = tmp_path_factory.mktemp("user")
    socket = f"ferlens-{os.getpid()}"
    (folder / "tmux.conf").write_text("set -g history-limit 50000\n")
    done = folder / "done"
    command = f"cd {folder} && WANDB_MODE=offline {sys.executable} {ROOT / 'train.py'}; echo $? > {done}"
    _tmux(socket, "-f", str(folder / "tmux.conf"), "new-session", "-d", "-s", "run", "-x", "120", "-y", "50", "bash", "--norc", "-c", command + "; sleep 600")
    try:
        deadline = time.monotonic() + 1500
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(2)
        screen = _tmux(socket, "capture-pane", "-p", "-J", "-S", "-", "-t", "run")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    return folder, done.read_text().strip() if done.exists() else "timed out", screen


def test_the_default_run_draws_a_clean_screen(default_run):
    folder, status, screen = default_run
    assert status == "0", screen[-3000:]
    lines = screen.splitlines()
    escapes = re.compile(r"\x1b|\[\d+(;\d+)*m")
    assert [line for line in lines if escapes.search(line)] == []  # W&B's artifact line printed raw colour codes
    assert [line for line in lines if line.startswith("Epoch ")] == [next(line for line in lines if line.startswith("Epoch 12/12 "))]  # once, counted 1..12
    assert len([line for line in lines if line.startswith("heatmaps gradcampp (best checkpoint, test split):")]) == 1  # one bar, one line
    assert any(line.startswith("global gradcampp heatmaps of the best checkpoint") for line in lines)  # on a line of its own
    assert sum(line == "smallcnn on synthetic, fold 1" for line in lines) == 1
    assert not any("Adding directory to artifact" in line for line in lines)
    best = next(line for line in lines if line.startswith("best checkpoint: "))
    epoch = int(re.search(r"epoch(\d{3})-", best).group(1))
    assert f"gradcampp heatmaps of the best checkpoint (epoch {epoch}, val acc" in screen  # the file name and the summary agree
    log = next((folder / "logs" / "train" / "runs").iterdir()) / "train.log"
    assert f"epoch {epoch}/12: " in log.read_text()  # and train.log


def test_the_readme_analyze_command_works_after_a_second_run(default_run):
    """The README's path, in order: ``python train.py``, again (here a one-epoch run of the same
    network, to save minutes), then ``python analyze.py source=local source.paths=[logs/train]``,
    which refused the two sets ("two heatmap sets ...")."""
    folder, status, _ = default_run
    assert status == "0"
    environment = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    again = [sys.executable, str(ROOT / "train.py"), "trainer.max_epochs=1", "data.source.num_images=300", "data.source.num_subjects=30", "logger=none"]
    assert subprocess.run(again, cwd=folder, env=environment, capture_output=True, text=True, timeout=900).returncode == 0
    readme = [sys.executable, str(ROOT / "analyze.py"), "source=local", "source.paths=[logs/train]"]
    analyzed = subprocess.run(readme, cwd=folder, env=environment, capture_output=True, text=True, timeout=900)
    assert analyzed.returncode == 0, analyzed.stderr[-3000:]
    assert "2 heatmap sets share the network label 'smallcnn' (repeated runs or splits): told apart by run start time" in analyzed.stdout + analyzed.stderr
    (report,) = (folder / "reports").iterdir()
    summary = (report / "summary.md").read_text()
    assert "heatmap sets read: 2 (2 networks" in summary and summary.count("| smallcnn-2026") >= 2
