from omegaconf import OmegaConf

from ferlens.jobs.multirun_summary import MultirunSummary, job_rows, summary_table
from tests.jobs.test_run_directory import _run


def _sweep(tmp_path):
    finished = _run(tmp_path, "0-vgg16-fold1", completed=False)
    from ferlens.jobs.run_directory import mark_completed

    mark_completed(finished, {"best_val_acc": 0.91234, "test/acc": 0.875, "test/att_cos": 0.5})
    _run(tmp_path, "1-vgg16-fold2")  # a last checkpoint, no marker
    _run(tmp_path, "10-weinet-fold1", checkpoint=False)
    (tmp_path / ".submitit").mkdir()  # not a job
    return tmp_path


def test_every_job_is_listed_in_job_order_with_its_status_and_metrics(tmp_path):
    rows = job_rows(_sweep(tmp_path))
    assert [(row["job"], row["status"]) for row in rows] == [("0-vgg16-fold1", "finished"), ("1-vgg16-fold2", "resumable"), ("10-weinet-fold1", "failed")]
    assert rows[0]["best_val_acc"] == 0.91234 and rows[0]["test/f1"] is None and rows[1]["test/acc"] is None
    lines = summary_table(rows).splitlines()
    assert lines[0].split() == ["job", "status", "best_val_acc", "test/acc", "test/f1", "test/att_cos", "test/cam_cos"]
    assert lines[1].split() == ["0-vgg16-fold1", "finished", "0.9123", "0.8750", "-", "0.5000", "-"]


def test_the_summary_is_written_and_logged_with_the_resume_hint(tmp_path, caplog):
    sweep = _sweep(tmp_path)
    with caplog.at_level("INFO", logger="ferlens.multirun"):
        MultirunSummary().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}}))
    assert (sweep / "summary.csv").read_text().splitlines()[1].startswith("0-vgg16-fold1,finished,0.91234,0.875,,0.5,")
    assert f"2 unfinished (1-vgg16-fold2, 10-weinet-fold1): launch the same command with hydra.sweep.dir={sweep} to resume them." in caplog.text
