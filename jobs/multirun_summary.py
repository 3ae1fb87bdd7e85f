"""The end of a multirun: one line per job with its metrics (from each job directory's
``completed.json``), printed and written to ``<sweep dir>/summary.csv``. Jobs without a
marker are listed as unfinished, with the command that resumes them."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ferlens.jobs.run_directory import completion, last_checkpoint

log = logging.getLogger("ferlens.multirun")

COLUMNS = ("best_val_acc", "test/acc", "test/f1", "test/att_cos", "test/cam_cos")


def job_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per job directory of ``sweep_dir`` (those Hydra wrote: ``.hydra/`` inside),
    in job-number order: ``job``, ``status`` (finished, resumable, failed) and the metrics."""
    jobs = [path for path in sweep_dir.iterdir() if (path / ".hydra").is_dir()]
    rows = []
    for job in sorted(jobs, key=lambda path: (int(path.name.split("-")[0]) if path.name.split("-")[0].isdigit() else 1 << 30, path.name)):
        marker = completion(job)
        status = "finished" if marker else "resumable" if last_checkpoint(job) else "failed"
        metrics = marker["metrics"] if marker else {}
        rows.append({"job": job.name, "status": status, **{column: metrics.get(column) for column in COLUMNS}})
    return rows


def summary_table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table (metrics with 4 decimals, '-' where missing)."""
    header = ["job", "status", *COLUMNS]
    cells = [[str(row["job"]), row["status"], *("-" if row[c] is None else f"{row[c]:.4f}" for c in COLUMNS)] for row in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    return "\n".join("  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip() for line in [header, *cells])


class MultirunSummary(Callback):
    """Hydra callback: after the last job of a multirun, print and save every job's metrics."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        rows = job_rows(sweep_dir)
        if not rows:
            return
        with (sweep_dir / "summary.csv").open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=["job", "status", *COLUMNS])
            writer.writeheader()
            writer.writerows(rows)
        unfinished = [row["job"] for row in rows if row["status"] != "finished"]
        note = ""
        if unfinished:
            note = f"\n{len(unfinished)} unfinished ({', '.join(unfinished)}): launch the same command with hydra.sweep.dir={sweep_dir} to resume them."
        log.info("Multirun of %d jobs in %s (summary.csv):\n%s%s", len(rows), sweep_dir, summary_table(rows), note)
