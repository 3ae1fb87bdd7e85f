import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("script", ["train.py", "analyze.py"])
def test_help_into_a_pipe_closed_early_ends_quietly(script):
    """``python train.py --help | head -1``: the reader is gone before the help is written."""
    process = subprocess.Popen([sys.executable, script, "--help"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # as head does once it has its lines
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 1 and stderr == "", stderr[-2000:]
