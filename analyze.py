"""Score and cluster global heatmaps: compose the config, collect, analyze, report.

python analyze.py source=local source.paths=[logs/train]
python analyze.py source=paper                   # the study's 72 pooled heatmaps (the repository's reference/ekman)
python analyze.py source=wandb source.project=ENTITY/PROJECT source.sweep=SWEEP_ID
python analyze.py source.latest=true             # repeated runs of one config: the newest run's heatmaps

The log (analyze.log) and the composed config (.hydra/) go into the report directory.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig, OmegaConf

from ferlens.jobs.config_check import check_start, check_values
from ferlens.jobs.config_help import register_help_resolver
from ferlens.jobs.console_log import closed_pipe_is_fine
from ferlens.user_errors import UserError, exit_on_user_error

if TYPE_CHECKING:
    from ferlens.analysis.pipeline import Analysis

log = logging.getLogger("ferlens.analyze")
CONFIGS = Path(__file__).resolve().parent / "configs"


def run(cfg: DictConfig) -> Analysis:
    """One analysis: collect the heatmap sets, score, cluster, write (and log) the report."""
    # the analysis stack (pandas, scipy, matplotlib) loads once the command line has passed its checks
    from ferlens.analysis.findings import findings
    from ferlens.analysis.pipeline import analyze_collection
    from ferlens.analysis.report.directory import write_report
    from ferlens.analysis.report.findings_text import console_lines
    from ferlens.analysis.sources import Filters, checked_source
    from ferlens.analysis.sources.base import DEFAULT_LABEL
    from ferlens.analysis.sources.random_weights import random_weight_sets
    from ferlens.analysis.statistics import StatisticsSettings, compute_statistics
    from ferlens.analysis.statistics.importance_analysis import analyze_importance
    from ferlens.evaluation.localisation.masks import load_families
    from ferlens.evaluation.localisation.scores import Threshold

    source = checked_source(hydra.utils.instantiate(cfg.source, _convert_="all"), cfg.source.get("_target_"))
    filters = Filters(**OmegaConf.to_container(cfg.filters, resolve=True))
    threshold = Threshold(**cfg.threshold)
    latest = getattr(source, "latest", False)
    newest = ", keeping the newest run per network, method, fold and dataset (source.latest=true)" if latest else ""
    log.info("Reading heatmaps from %s (%s) with %s%s.", source.kind, source.where, filters.describe(), newest)
    collection = source.collect(filters, cfg.strict)
    if not collection.sets:
        skipped = f"{len(collection.skipped)} inputs skipped as damaged"
        raise UserError(f"No heatmaps found in {source.where} with {filters.describe()} ({skipped}): check the source and the filters.")
    settings = StatisticsSettings(**OmegaConf.to_container(cfg.statistics, resolve=True))
    analysis = analyze_collection(collection, load_families(dict(cfg.masks)), threshold, cfg.progress, cfg.min_count)
    description = {"source": f"{source.kind} ({source.where})", "filters": filters.describe()}
    if latest:
        description["runs"] = f"the newest per network, method, fold and dataset (source.latest=true; {len(collection.superseded)} older sets left out)"
    statistics = None
    if settings.enabled:
        baselines = random_weight_sets(cfg.baseline, getattr(source, "label", DEFAULT_LABEL), analysis)
        statistics = compute_statistics(analysis, settings, baselines)
    made = {"command": command_line(sys.argv), "config": OmegaConf.to_yaml(cfg, resolve=True)}
    answers = findings(analysis, statistics) if statistics is not None else None
    importance = analyze_importance(analysis, settings, source.kind, cfg.importance.codebook) if settings.enabled else None
    directory = write_report(analysis, cfg.report_dir, f"ferlens report {cfg.name}", description, statistics, made, answers, importance)
    log.info("Report written to %s (%d heatmap sets, %d skipped).", directory, analysis.read, len(analysis.skipped))
    for line in console_lines(answers or []):
        log.info("%s", line)
    flat = analysis.flat_cells()
    if flat:
        named = ", ".join(f"{network} {method} fold {fold} {name}" for network, method, fold, name in flat)
        log.warning("%d class heatmap(s) are the same value everywhere (no evidence), scored as maps with nothing above the threshold: %s.", len(flat), named)
    empty = analysis.empty_cells()
    if empty:
        log.warning("%d empty class heatmap(s) scored NaN and left out of the means: see %s.", len(empty), directory / "summary.md")
    if cfg.wandb.log_report:
        from ferlens.analysis.report.wandb_report import log_report

        run_dir = log_report(directory, cfg.wandb.project or "ferlens", cfg.name, cfg.wandb.mode, cfg.wandb.dir, OmegaConf.to_container(cfg, resolve=True))
        log.info("Report logged to W&B (%s): %s", cfg.wandb.mode, run_dir)
    return analysis


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="analyze")  # absolute, as in train.py
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    try:
        with exit_on_user_error():
            check_values(cfg, "analyze")
            run(cfg)
    finally:
        remove_unwritten_report(Path(HydraConfig.get().runtime.output_dir))


def command_line(argv: list[str]) -> str:
    """The command as typed: ``python analyze.py ...`` for the script, ``ferlens-analyze ...`` for the console script."""
    name = Path(argv[0]).name
    return shlex.join([*(["python"] if name.endswith(".py") else []), name, *argv[1:]])


def remove_unwritten_report(directory: Path) -> None:
    """Remove the report directory Hydra made for a run that wrote no report (it holds only
    Hydra's ``.hydra/`` and the log): a failed analysis leaves no empty ``reports/<name>/``
    behind (its one sentence is on the console)."""
    if directory.is_dir() and all(path.name in (".hydra", "analyze.log") for path in directory.iterdir()):
        shutil.rmtree(directory, ignore_errors=True)


def cli() -> None:
    """``python analyze.py ...``, and the ``ferlens-analyze`` console script."""
    with exit_on_user_error():
        check_start(sys.argv[1:], CONFIGS, "analyze")
    register_help_resolver(CONFIGS)
    with closed_pipe_is_fine():  # train.py --help | head
        main()


if __name__ == "__main__":
    cli()
