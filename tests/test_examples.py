"""The examples run as a user runs them, from a folder outside the clone (PYTHONPATH only),
and the command line trains and explains a network and reads a dataset defined there: heatmap
artifacts that verify, and analyze.py's report of them."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ferlens.formats.expressions import CLASSES_6
from ferlens.formats.heatmap_artifact import read_artifact
from tests.conftest import ROOT, run_train
from tests.user_lab import EXAMPLES, user_lab, write_lab_faces


def _run(script: Path, *arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    done = subprocess.run([sys.executable, str(script), *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _reported(report: Path, network: str) -> list[dict]:
    """The rows of the report's scores.csv for ``network`` (the report's summary exists)."""
    assert (report / "summary.md").is_file()
    with open(report / "scores.csv", newline="") as file:
        return [row for row in csv.DictReader(file) if row["network"] == network]


def _outside(tmp_path: Path) -> Path:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert not outside.resolve().is_relative_to(ROOT.resolve())
    return outside


@pytest.mark.slow
def test_own_network_is_trained_explained_and_reported_by_the_cli(tmp_path):
    lab = user_lab(_outside(tmp_path))
    shutil.copy(EXAMPLES / "own_network.py", lab)
    _run(lab / "own_network.py", str(lab / "out"), cwd=lab)
    artifact = read_artifact(lab / "out" / "run" / "heatmaps" / "gradcampp")
    assert artifact.manifest.run.model == "my_lab.nets.TinyCNN" and artifact.manifest.run.input_size == 48
    assert list(artifact.manifest.classes) == list(CLASSES_6) and all(artifact.manifest.counts[c] > 0 for c in CLASSES_6)
    assert _reported(lab / "out" / "report", "my_lab.nets.TinyCNN")


@pytest.mark.slow
def test_the_cli_reads_a_user_reader_and_trains_a_user_vit_from_a_folder_outside_the_clone(tmp_path):
    lab = user_lab(_outside(tmp_path))
    write_lab_faces(lab / "faces", num_images=96, num_subjects=12, size=48)
    run = lab / "run"
    overrides = [
        "model=custom",
        "model.net._target_=my_lab.nets.TinyViT",
        "model.net.cam_layer=blocks.0",
        "model.net.cam_prefix_tokens=1",
        "data=custom",
        "data.reader._target_=my_lab.readers.read_faces",
        f"data.root={lab / 'faces'}",
        f"data.cache_dir={lab / 'cache'}",
        "data.num_folds=4",
        "data.num_workers=0",
        "face.detector=box",
        "face.landmarks=dataset",
        "face.workers=0",
        "trainer.max_epochs=1",
        "logger=none",
        "callbacks.global_saliency.target=label",
        "callbacks.global_saliency.progress=false",
        f"paths.output_dir={run}",
    ]
    done = run_train(*overrides, cwd=lab, env={"PYTHONPATH": str(lab)})
    assert done.returncode == 0, done.stderr[-3000:]
    artifact = read_artifact(run / "heatmaps" / "gradcampp")
    manifest = artifact.manifest
    assert (manifest.run.model, manifest.run.dataset, manifest.run.input_size, manifest.run.normalization) == (
        "my_lab.nets.TinyViT",
        "my_lab.readers.read_faces",
        32,  # the class's pretrained_cfg
        "inception",
    )
    assert manifest.skipped_no_landmarks == 0 and sum(manifest.counts.values()) > 0 and sum(manifest.zero_maps.values()) < sum(manifest.counts.values())
    assert sum(c["images"] for c in manifest.face_preparation.values()) == 96  # face preparation ran on the reader's 96 faces
    report = lab / "report"
    analyze = [sys.executable, str(ROOT / "analyze.py"), "source=local", f"source.paths=[{run}]", f"report_dir={report}", f"hydra.run.dir={report}"]
    analyze += ["statistics.resamples=50", "statistics.permutations=99", "statistics.split_halves=10", "progress=false"]
    done = subprocess.run(analyze, cwd=lab, capture_output=True, text=True, timeout=600, env={**os.environ, "WANDB_MODE": "offline"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert _reported(report, "my_lab.nets.TinyViT")


@pytest.mark.slow
def test_own_lightning_project_gets_the_artifact_and_the_report(tmp_path):
    outside = _outside(tmp_path)
    shutil.copy(EXAMPLES / "own_lightning_project.py", outside)
    _run(outside / "own_lightning_project.py", str(outside / "out"), cwd=outside)
    artifact = read_artifact(outside / "out" / "heatmaps" / "gradcampp")
    assert artifact.manifest.run.model == "Net" and artifact.manifest.weights.source == "final weights"
    assert dict(artifact.manifest.counts) == {"Anger": 10, "Disgust": 10, "Fear": 10, "Happiness": 10, "Sadness": 6, "Surprise": 6}  # per_class=10 of 60
    assert _reported(outside / "out" / "report", "Net")


def test_explain_in_a_notebook_prints_one_iou_per_face(tmp_path):
    shutil.copy(EXAMPLES / "explain_in_a_notebook.py", tmp_path)
    done = _run(tmp_path / "explain_in_a_notebook.py", cwd=tmp_path)
    line = done.stdout.strip().splitlines()[-1]
    values = [float(v) for v in line.split("[")[1].rstrip("]").split()]
    assert line.startswith("IoU with the Ekman mask of each face's own class:") and len(values) == 12 and all(0 <= v <= 1 for v in values)


def test_the_notebook_holds_the_script_and_runs_in_a_kernel(tmp_path):
    """``explain_in_a_notebook.ipynb`` is the script's code, cell by cell, and executes (nbclient)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(EXAMPLES / "explain_in_a_notebook.ipynb", as_version=4)
    code = "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert code == (EXAMPLES / "explain_in_a_notebook.py").read_text().split('"""', 2)[2].strip("\n")
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs if output.get("name") == "stdout")
    assert printed.startswith("IoU with the Ekman mask of each face's own class:") and len(printed.split("[")[1].split()) == 12
