"""Resume without double counting, as a user meets it: a run stopped by SIGTERM (SLURM's
preemption) or Ctrl+C names the command that resumes it, ``resume=`` finishes it with the
metrics, checkpoint score and heatmaps of an uninterrupted run, in one W&B run; finished
jobs are skipped and a relaunched multirun resumes only what is unfinished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from tests.conftest import ROOT, SMALL_DATA, run_train

THREE_EPOCHS = [*SMALL_DATA, "trainer.max_epochs=3", "trainer.deterministic=true", "data.augment=true", "seed=3", "callbacks.progress_bar=null"]


def _start(*overrides: str) -> subprocess.Popen:
    environment = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *overrides],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background CI job ignores Ctrl+C; the run must not
    )


def _wait_for_epoch(run_dir: Path, epoch: int, process: subprocess.Popen) -> None:
    """Until ``checkpoints/last.ckpt`` holds ``epoch`` (0-based) or a later one."""
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if torch.load(last, map_location="cpu", weights_only=True)["epoch"] >= epoch:
                return
        except (OSError, RuntimeError, EOFError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"no last.ckpt of epoch {epoch}: {process.communicate()[1][-3000:]}")


def _outcome(run_dir: Path) -> dict:
    marker = json.loads((run_dir / "completed.json").read_text())
    best = torch.load(next((run_dir / "checkpoints").glob("epoch*.ckpt")), map_location="cpu", weights_only=True)
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    return {
        "metrics": marker["metrics"],
        "best_epoch": best["epoch"],
        "last": last["state_dict"],
        "heatmaps": np.load(run_dir / "heatmaps" / "gradcampp" / "heatmaps.npy"),
    }


@pytest.mark.slow
def test_a_run_stopped_after_epoch_1_resumes_to_the_uninterrupted_result(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    finished = run_train(*THREE_EPOCHS, f"hydra.run.dir={whole}")
    assert finished.returncode == 0, finished.stderr[-3000:]

    process = _start(*THREE_EPOCHS, f"hydra.run.dir={cut}")
    _wait_for_epoch(cut, 0, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 143, stderr[-3000:]
    assert not (cut / "completed.json").exists()
    log = (cut / "train.log").read_text()
    assert f"Interrupted (SIGTERM): {cut / 'checkpoints' / 'last.ckpt'} holds the last finished epoch. Resume with:\n  python train.py resume={cut}" in log

    resumed = run_train(f"resume={cut}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming from {cut / 'checkpoints' / 'last.ckpt'}" in (cut / "train.log").read_text()
    expected, got = _outcome(whole), _outcome(cut)
    assert got["metrics"].keys() == expected["metrics"].keys() and "val/acc" in got["metrics"] and "test/acc" in got["metrics"]
    for name, value in expected["metrics"].items():
        assert got["metrics"][name] == pytest.approx(value, abs=1e-6), name
    assert got["best_epoch"] == expected["best_epoch"]
    for name, weights in expected["last"].items():
        torch.testing.assert_close(got["last"][name], weights, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["heatmaps"], expected["heatmaps"], rtol=0, atol=1e-6)
    assert got["heatmaps"].max() > 0

    # one W&B run: both parts log to the id stored in the run directory
    run_id = (cut / "wandb_run_id").read_text().strip()
    assert sorted(p.name.rsplit("-", 1)[1] for p in (cut / "wandb").glob("offline-run-*")) == [run_id, run_id]

    # a finished run is not run again
    again = run_train(f"resume={cut}")
    assert again.returncode == 0 and "Already finished on" in (cut / "train.log").read_text()
    assert json.loads((cut / "completed.json").read_text())["metrics"] == got["metrics"]


@pytest.mark.slow
def test_ctrl_c_names_the_resume_command(tmp_path):
    process = _start(*SMALL_DATA, "trainer.max_epochs=3", "logger=none", "callbacks.progress_bar=null", f"hydra.run.dir={tmp_path}")
    _wait_for_epoch(tmp_path, 0, process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=300)
    assert process.returncode == 1
    assert (
        f"Interrupted (Ctrl+C): {tmp_path / 'checkpoints' / 'last.ckpt'} holds the last finished epoch. Resume with:\n  python train.py resume={tmp_path}"
        in (tmp_path / "train.log").read_text()
    )


@pytest.mark.slow
def test_a_relaunched_multirun_skips_finished_jobs_and_resumes_the_others(tmp_path):
    command = [
        "-m",
        *SMALL_DATA,
        "seed=1,2",
        "trainer.max_epochs=2",
        "logger=none",
        "callbacks=[default]",
        "callbacks.progress_bar=null",
        f"hydra.sweep.dir={tmp_path}",
    ]
    first = run_train(*command)
    assert first.returncode == 0, first.stderr[-3000:]
    jobs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert [job.name for job in jobs] == ["0-smallcnn-fold1", "1-smallcnn-fold1"]
    finished_at = [(job / "completed.json").stat().st_mtime_ns for job in jobs]
    (jobs[0] / "completed.json").unlink()  # as if job 0 had been stopped after its last epoch

    second = run_train(*command)
    assert second.returncode == 0, second.stderr[-3000:]
    logs = [(job / "train.log").read_text() for job in jobs]
    assert f"Resuming from {jobs[0] / 'checkpoints' / 'last.ckpt'}" in logs[0] and (jobs[0] / "completed.json").is_file()
    assert "Already finished on" in logs[1] and (jobs[1] / "completed.json").stat().st_mtime_ns == finished_at[1]


def test_an_added_key_nothing_reads_is_refused(tmp_path):
    result = run_train("+ckpt_path=/somewhere/last.ckpt", "logger=none", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: '+ckpt_path=/somewhere/last.ckpt' adds a setting that train.py never reads, so it would be silently ignored: "
        "to continue a run use resume=<run dir> or resume=last; to start from a checkpoint's weights use init_from=<.ckpt>."
    )


@pytest.mark.slow
def test_explain_writes_the_heatmaps_of_a_trained_runs_best_checkpoint_for_either_split(tmp_path, compose_train):
    import hydra

    cfg = compose_train(*SMALL_DATA)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup()
    val_images = len(datamodule.splits["val"])

    trained = tmp_path / "trained"
    result = run_train(*SMALL_DATA, "trainer.max_epochs=2", "logger=none", "callbacks.progress_bar=null", f"hydra.run.dir={trained}")
    assert result.returncode == 0, result.stderr[-3000:]
    (best,) = (trained / "checkpoints").glob("epoch*.ckpt")
    same = tmp_path / "same"
    again = run_train(f"explain={trained}", "callbacks.progress_bar=null", f"hydra.run.dir={same}")
    assert again.returncode == 0, again.stderr[-3000:]
    assert not list(same.glob("checkpoints/*.ckpt"))  # nothing trained
    summary = again.stdout
    assert "val (given weights)" in summary and "test (" not in summary and "best checkpoint:" not in summary  # only what it did
    assert f"weights: {best.resolve()}" in summary
    assert "heatmaps gradcampp (method 1 of 1): " in again.stdout + again.stderr and " s per image on the first batch, about " in again.stdout + again.stderr
    assert "gradcampp faithfulness (" in summary
    np.testing.assert_allclose(np.load(same / "heatmaps/gradcampp/heatmaps.npy"), np.load(trained / "heatmaps/gradcampp/heatmaps.npy"), rtol=0, atol=1e-6)
    explained = json.loads((same / "heatmaps/gradcampp/manifest.json").read_text())
    assert explained["selection"]["split"] == "test"  # the default: images never seen
    given = {"source": "given weights", "checkpoint": str(best.resolve()), "epoch": int(best.name[5:8]) - 1}  # epoch002-...ckpt (from 1): 0-based 1, not 0
    assert explained["weights"] == {**explained["weights"], **given}
    on_val = tmp_path / "val"
    result = run_train(f"explain={trained}", "saliency=[gradcam,attention]", "callbacks.global_saliency.split=val", f"hydra.run.dir={on_val}")
    assert result.returncode == 0, result.stderr[-3000:]
    for method in ("gradcam", "attention"):
        manifest = json.loads((on_val / "heatmaps" / method / "manifest.json").read_text())
        assert manifest["selection"]["split"] == "val" and manifest["weights"]["checkpoint"] == str(best.resolve())
        assert sum(manifest["counts"].values()) == val_images  # every validation image (at most 100 per predicted class)
    assert not (on_val / "heatmaps" / "gradcampp").exists()


def test_only_rank_0_makes_the_wandb_id_and_the_logger_resumes_it(compose_train, tmp_path, monkeypatch):
    from lightning.pytorch.utilities import rank_zero_only

    from ferlens import training

    monkeypatch.delenv("WANDB_RUN_ID", raising=False)
    cfg = compose_train(f"paths.output_dir={tmp_path}", f"logger.wandb.save_dir={tmp_path}")
    composed = OmegaConf.to_yaml(cfg)
    monkeypatch.setattr(rank_zero_only, "rank", 1)  # e.g. the second SLURM task of a DDP job
    (second,) = training._instantiate_loggers(cfg)
    assert second._wandb_init.get("id") is None and not (tmp_path / "wandb_run_id").exists()
    monkeypatch.setattr(rank_zero_only, "rank", 0)
    (first,) = training._instantiate_loggers(cfg)
    assert first._wandb_init["id"] == (tmp_path / "wandb_run_id").read_text().strip() and first._wandb_init["resume"] == "allow"
    assert OmegaConf.to_yaml(cfg) == composed  # the config itself is left as composed
