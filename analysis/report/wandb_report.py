"""Log a written report to W&B: a run of job type ``analysis`` with the tables, figures and
the whole report directory as an ``analysis-report`` artifact."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REPORT_ARTIFACT_TYPE = "analysis-report"


def log_report(directory: str | Path, project: str, name: str, mode: str, wandb_dir: str | Path, config: dict) -> str:
    """Log ``directory`` (a written report) to ``project`` ("entity/project" or "project");
    returns the W&B run directory. ``mode`` is online / offline / disabled."""
    import wandb

    directory = Path(directory)
    entity, _, project_name = project.rpartition("/")
    Path(wandb_dir).mkdir(parents=True, exist_ok=True)
    run = wandb.init(project=project_name, entity=entity or None, name=name, job_type="analysis", mode=mode, dir=str(wandb_dir), config=config)
    try:
        run.log({"scores": wandb.Table(dataframe=pd.read_csv(directory / "scores.csv"))})
        for table in sorted((directory / "tables").glob("*.csv")):
            run.log({f"tables/{table.stem}": wandb.Table(dataframe=pd.read_csv(table))})
        run.log({"clustering": wandb.Table(dataframe=pd.read_csv(directory / "clustering.csv"))})
        for figure in sorted((directory / "figures").glob("*.png")):
            run.log({f"figures/{figure.stem}": wandb.Image(str(figure))})
        artifact = wandb.Artifact(f"report-{name}", type=REPORT_ARTIFACT_TYPE, metadata={"summary": (directory / "summary.md").read_text()[:20000]})
        artifact.add_dir(str(directory))
        run.log_artifact(artifact)
        return run.dir
    finally:
        run.finish()
