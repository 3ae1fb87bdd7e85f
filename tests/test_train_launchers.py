"""Cluster launchers: the SLURM launcher's settings come from the config (one task per GPU
under DDP), and the same jobs run locally through submitit, one directory and one W&B run
each, with the end-of-multirun summary."""

from __future__ import annotations

import csv

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from ferlens.formats.heatmap_artifact import read_artifact
from tests.conftest import CONFIGS, SMALL_DATA, run_train


def test_the_slurm_launcher_takes_partition_gpus_time_and_memory_from_the_config():
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
            cfg = compose("train", ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "hydra.launcher.partition=gpu"], return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher") and launcher.partition == "gpu"
    assert launcher.gpus_per_node == 4 and launcher.tasks_per_node == 4  # one task per GPU: Lightning's SLURM DDP
    assert launcher.timeout_min == 720 and launcher.mem_gb == 64 and launcher.max_num_timeout == 3


@pytest.mark.slow
def test_a_2x2_multirun_through_submitit_local_gives_one_directory_and_one_wandb_run_per_job(tmp_path):
    result = run_train(
        "-m", "hydra/launcher=submitit_local", *SMALL_DATA, "seed=1,2", "data.fold=1,2", "trainer.max_epochs=1",
        "callbacks.progress_bar=null", f"hydra.sweep.dir={tmp_path}", cwd=tmp_path,
        env={"WANDB_SWEEP_ID": "sweep42"},  # as a W&B agent sets it for the runs it starts
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(path.name for path in tmp_path.iterdir() if path.is_dir() and not path.name.startswith("."))
    assert jobs == ["0-smallcnn-fold1", "1-smallcnn-fold2", "2-smallcnn-fold1", "3-smallcnn-fold2"]
    run_ids = set()
    for job in jobs:
        runs = list((tmp_path / job / "wandb").glob("offline-run-*"))
        assert len(runs) == 1, runs
        run_ids.add(runs[0].name.rsplit("-", 1)[1])
        assert (tmp_path / job / "completed.json").is_file() and (tmp_path / job / "heatmaps" / "gradcampp" / "heatmaps.npy").is_file()
        assert read_artifact(tmp_path / job / "heatmaps" / "gradcampp").manifest.run.sweep == "sweep42"  # analyze's source.sweep finds it
    assert len(run_ids) == 4
    rows = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert [row["job"] for row in rows] == jobs and all(row["status"] == "finished" and 0 <= float(row["test/acc"]) <= 1 for row in rows)
    assert not (tmp_path / "logs").exists()
