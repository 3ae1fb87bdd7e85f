"""Train a FER network: compose the config, instantiate, fit, test, summarise.

python train.py                                  # small CNN on the embedded synthetic faces
python train.py model=X data.fold=2 trainer.max_epochs=3
python train.py trainer=ddp trainer.devices=2    # multi-process DDP
python train.py resume=last                      # continue the newest interrupted run
python train.py explain=<run dir> saliency=[lime] # heatmaps of a trained run, no training
python train.py --cfg job                        # print the composed config
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ferlens.jobs.config_check import check_start, check_values
from ferlens.jobs.config_help import register_help_resolver
from ferlens.jobs.config_resolvers import register_config_resolvers
from ferlens.jobs.console_log import closed_pipe_is_fine
from ferlens.jobs.explain import explain_arguments
from ferlens.jobs.resume import resume_arguments
from ferlens.jobs.run_directory import remove_if_empty
from ferlens.user_errors import exit_on_user_error

CONFIGS = Path(__file__).resolve().parent / "configs"


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="train")  # absolute: the console script runs it as ferlens.train
def main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig

    finished = False
    try:
        with exit_on_user_error():
            check_values(cfg, "train")  # each job of a multirun too, before torch loads; train=no becomes false
        from ferlens.training import job  # torch and Lightning load only for a job, not for --help or --cfg

        result = job(cfg)
        finished = True
        return result
    finally:
        if not finished:  # a user mistake, Ctrl+C, a crash: no empty run directory stays behind
            remove_if_empty(HydraConfig.get().runtime.output_dir)


def cli() -> None:
    """``python train.py ...``, and the ``ferlens-train`` console script: expand ``resume=`` and
    ``explain=``, refuse unknown options in one sentence, then compose and run."""
    with exit_on_user_error():
        sys.argv[1:] = explain_arguments(resume_arguments(sys.argv[1:]))
        register_config_resolvers()
        check_start(sys.argv[1:], CONFIGS, "train")
    register_help_resolver(CONFIGS)
    with closed_pipe_is_fine():  # train.py --help | head
        main()


if __name__ == "__main__":
    cli()
