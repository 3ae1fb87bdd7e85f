import json
import os
import time
import zipfile

from ferlens.jobs.run_directory import (
    COMPLETED,
    completion,
    damaged_last_checkpoint,
    last_checkpoint,
    mark_completed,
    remove_if_empty,
    resumable_runs,
    wandb_run_id,
)


def whole_checkpoint(path):
    """A file as torch writes a checkpoint: a zip archive (its directory at the end)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"weights")
    return path


def _run(root, name, checkpoint=True, completed=False):
    run = root / name
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
    if checkpoint:
        (run / "checkpoints").mkdir()
        whole_checkpoint(run / "checkpoints" / "last.ckpt")
    if completed:
        mark_completed(run, {"val/acc": 0.5})
    return run


def test_the_completion_marker_records_the_metrics_and_a_damaged_one_counts_as_absent(tmp_path):
    assert completion(tmp_path) is None
    path = mark_completed(tmp_path, {"val/acc": 0.75, "test/acc": 0.5})
    marker = completion(tmp_path)
    assert path == tmp_path / COMPLETED and marker["metrics"] == {"test/acc": 0.5, "val/acc": 0.75}
    assert time.strptime(marker["finished"], "%Y-%m-%dT%H:%M:%S")
    assert not list(tmp_path.glob("*.tmp"))
    path.write_text('{"finished": "2026-')  # cut short by a crash: the job runs again
    assert completion(tmp_path) is None
    path.write_text(json.dumps({"metrics": {}}))
    assert completion(tmp_path) is None


def test_the_wandb_id_is_made_once_and_kept_and_an_agent_id_wins_over_a_new_one(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_RUN_ID", raising=False)
    first = wandb_run_id(tmp_path / "a")
    assert len(first) == 8 and first.isalnum() and wandb_run_id(tmp_path / "a") == first
    assert wandb_run_id(tmp_path / "b") != first
    monkeypatch.setenv("WANDB_RUN_ID", "agent123")
    assert wandb_run_id(tmp_path / "c") == "agent123" and wandb_run_id(tmp_path / "a") == first


def test_resumable_runs_are_unfinished_runs_with_a_last_checkpoint_newest_first(tmp_path):
    older = _run(tmp_path / "runs", "older")
    newer = _run(tmp_path / "multiruns" / "2026-11-23", "0")
    _run(tmp_path / "runs", "finished", completed=True)
    _run(tmp_path / "runs", "no_checkpoint", checkpoint=False)
    os.utime(older / "checkpoints" / "last.ckpt", (1, 1))
    assert resumable_runs(tmp_path) == [newer, older]
    assert last_checkpoint(older) == older / "checkpoints" / "last.ckpt" and last_checkpoint(tmp_path) is None


def test_a_cut_short_last_checkpoint_is_named_with_the_older_ones_that_can_be_resumed(tmp_path):
    run = _run(tmp_path, "r")
    assert damaged_last_checkpoint(run) is None
    checkpoints = run / "checkpoints"
    whole = checkpoints / "last.ckpt"
    (checkpoints / "epoch002-acc0.5000.ckpt").write_bytes(whole.read_bytes())
    (checkpoints / "epoch003-acc0.6000.ckpt").write_bytes(whole.read_bytes()[:-30])  # cut short too
    whole.write_bytes(whole.read_bytes()[:-30])
    sentence = damaged_last_checkpoint(run)
    assert sentence == (
        f"{whole} is damaged (cut short, not a readable checkpoint) and cannot be resumed: "
        f"resume from an older checkpoint by copying it over last.ckpt (epoch002-acc0.5000.ckpt in {checkpoints})."
    )
    (checkpoints / "epoch002-acc0.5000.ckpt").unlink()
    assert damaged_last_checkpoint(run).endswith("no older checkpoint can be resumed instead, so start the run again.")


def test_a_failed_run_without_results_is_removed_and_one_with_results_kept(tmp_path):
    empty = tmp_path / "empty"
    (empty / ".hydra").mkdir(parents=True)
    (empty / "train.log").write_text("Error\n")
    (empty / "wandb_run_id").write_text("abc\n")
    assert remove_if_empty(empty) and not empty.exists()
    kept = _run(tmp_path, "kept")
    assert not remove_if_empty(kept) and kept.is_dir()
    given = tmp_path / "mine"  # hydra.run.dir=<a folder of the user's>
    given.mkdir()
    (given / "notes.txt").write_text("mine")
    (given / "train.log").write_text("Error\n")
    assert not remove_if_empty(given) and (given / "notes.txt").is_file()
