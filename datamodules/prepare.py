"""Prepare a real dataset's faces ahead of training (fills the cache a run then reads):

python -m datamodules.prepare data=rafdb data.root=/data/RAF-DB [face.detector=dlib ...]
ferlens-prepare data=rafdb data.root=/data/RAF-DB   # the console script, from any folder
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ferlens.jobs.config_check import check_start, check_values
from ferlens.jobs.config_resolvers import register_config_resolvers
from ferlens.user_errors import UserError, exit_on_user_error

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="prepare")  # absolute, as in train.py
def main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        check_values(cfg, "prepare")
        if "reader" not in cfg.data:
            choice = "choose a real dataset, e.g. data=folder data.root=DIR."
            raise UserError(f"data={cfg.data.name} needs no face preparation (it is rendered in memory): {choice}")
        datamodule = hydra.utils.instantiate(cfg.data)
        prepared = datamodule.source.prepare()
    print(prepared.summary)
    print(prepared.class_table())


def cli() -> None:
    """The ``ferlens-prepare`` console script (``python -m datamodules.prepare``)."""
    register_config_resolvers()
    with exit_on_user_error():
        check_start(sys.argv[1:], CONFIGS, "prepare")
    main()


if __name__ == "__main__":
    cli()
