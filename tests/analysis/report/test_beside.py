"""``drawn_beside``: the statistics' figures drawn in a forked child beside the report's own."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ferlens.analysis.report.beside import can_fork, drawn_beside


def test_the_group_is_drawn_once_in_a_child_while_the_body_runs(tmp_path: Path):
    parent = os.getpid()

    def draw():
        (tmp_path / "drawn").write_text(str(os.getpid()))

    with drawn_beside(draw):
        (tmp_path / "body").write_text("done")
    assert (tmp_path / "body").exists() and (tmp_path / "drawn").exists()
    drawer = int((tmp_path / "drawn").read_text())
    assert (drawer != parent) == can_fork()  # on Linux a child drew it; elsewhere the parent did


@pytest.mark.skipif(not can_fork(), reason="no fork on this platform: the group is always drawn in the parent (the test above covers it)")
def test_a_child_that_fails_is_redrawn_here_so_the_error_or_the_files_are_not_lost(tmp_path: Path):
    parent = os.getpid()
    calls = []

    def draw():
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        calls.append("parent")
        (tmp_path / "drawn").write_text("here")

    with drawn_beside(draw):
        pass
    assert calls == ["parent"] and (tmp_path / "drawn").read_text() == "here"

    def broken():
        raise ValueError("a figure that cannot be drawn")

    with pytest.raises(ValueError, match="cannot be drawn"), drawn_beside(broken):
        pass


def test_console_lines_printed_before_the_fork_appear_once():
    script = "from ferlens.analysis.report.beside import drawn_beside\nprint('before')\nwith drawn_beside(lambda: print('child')):\n    print('body')\n"
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout  # the two may interleave
    assert output.count("before") == 1 and output.count("body") == 1 and output.count("child") == 1


def _drawer_in_a_pool_worker(folder: str) -> bool:
    with drawn_beside(lambda: (Path(folder) / "drawn").write_text(str(os.getpid()))):
        pass
    return int((Path(folder) / "drawn").read_text()) == os.getpid()


def test_a_daemonic_pool_worker_which_may_not_have_children_draws_itself(tmp_path: Path):
    import multiprocessing

    with multiprocessing.get_context("fork" if can_fork() else "spawn").Pool(1) as pool:  # multiprocessing.Pool's workers are daemonic
        assert pool.apply(_drawer_in_a_pool_worker, (str(tmp_path),))
