"""``ferlens-prepare`` (and ``python -m datamodules.prepare`` in the clone): a dataset prepared
ahead of training, as a user runs it."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import cv2
from skimage import data

from ferlens.formats.expressions import CLASSES_6
from tests.conftest import ROOT
from tests.datamodules.readers.layouts import folder, synthetic_layout_faces


def _prepare(*overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    """The console script, run from ``cwd`` (outside the repository, as from a data folder)."""
    script = Path(sys.executable).parent / "ferlens-prepare"
    return subprocess.run([str(script), *overrides], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_prepare_fills_the_cache_writes_the_report_and_a_second_run_reads_it(tmp_path):
    faces = synthetic_layout_faces(CLASSES_6 * 2, size=224, num_subjects=3)
    folder.write(tmp_path / "data", faces, split_folders=False)
    cv2.imwrite(str(tmp_path / "data" / "happy" / "S009_cup.jpg"), cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR))  # no face
    overrides = ["data=folder", f"data.root={tmp_path / 'data'}", f"data.cache_dir={tmp_path / 'cache'}", f"paths.log_dir={tmp_path / 'logs'}"]
    first = _prepare(*overrides, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary, *table, why, counts = first.stdout.strip().splitlines()[-8:]
    assert why == "  no face" and counts.split() == ["0", "0", "0", "1", "0", "0", "1"]  # status x class
    decided = r"not taken for tight crops, so misses are left out \(median face box 0\.6\d of the image side on 12 faces found; tight from 0\.75\)"
    match = re.fullmatch(rf"folder: 13 images -> 12 faces prepared; skipped 1: no face 1; {decided}; 0 from cache; report: (.+\.csv)", summary)
    assert match, summary
    assert [row.split()[0] for row in table] == ["faces", "images", "prepared", "dropped", "dropped"] and table[0].split()[1:] == [*CLASSES_6, "total"]
    assert table[1].split()[1:] == ["2", "2", "2", "3", "2", "2", "13"] and table[3].split()[1:] == ["0", "0", "0", "1", "0", "0", "1"]
    # the one class that lost an image is named in one warning line
    assert "[WARNING] - Face preparation dropped Happiness 33 % (1 of 3) against Anger 0 % (0 of 2) of the folder images" in first.stdout
    report = Path(match.group(1))
    assert report.is_relative_to(tmp_path / "cache")
    with open(report, newline="") as handle:
        rows = {row["key"]: row for row in csv.DictReader(handle)}
    assert len(rows) == 13 and rows["happy/S009_cup.jpg"]["status"] == "no face"
    assert sum(row["status"] == "ok" for row in rows.values()) == 12 and all(row["faces"] == "1" for key, row in rows.items() if "cup" not in key)
    second = _prepare(*overrides, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "; 13 from cache; " in second.stdout.strip().splitlines()[-8]
    stopped = _prepare(*overrides, "face.on_class_bias=error", cwd=tmp_path)  # from the cache too: a report-only setting
    assert stopped.returncode == 1 and "Traceback" not in stopped.stderr
    lines = stopped.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: Face preparation dropped Happiness 33 % (1 of 3)")
    assert lines[-1].endswith("set face.on_class_bias=warn to go on anyway.")


def test_prepare_refuses_the_synthetic_set_and_a_wrong_root_in_one_sentence(tmp_path):
    synthetic = _prepare("data=synthetic", f"paths.log_dir={tmp_path / 'logs'}", cwd=tmp_path)
    assert synthetic.returncode == 1 and "Traceback" not in synthetic.stderr
    assert synthetic.stderr.strip() == (
        "Error: data=synthetic needs no face preparation (it is rendered in memory): choose a real dataset, e.g. data=folder data.root=DIR."
    )
    readme_form = [sys.executable, "-m", "datamodules.prepare", "data=synthetic", f"paths.log_dir={tmp_path / 'logs'}"]  # from the repository folder
    in_the_clone = subprocess.run(readme_form, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert in_the_clone.returncode == 1 and in_the_clone.stderr == synthetic.stderr
    missing = _prepare("data=rafdb", f"data.root={tmp_path / 'nowhere'}", f"paths.log_dir={tmp_path / 'logs'}", cwd=tmp_path)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(tmp_path / "nowhere") in lines[0], missing.stderr
