"""Prepare a real dataset's faces ahead of training (fills the cache a run then reads):

python -m datamodules.prepare data=rafdb data.root=/data/RAF-DB [face.detector=dlib ...]
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from user_errors import user_message


@hydra.main(version_base="1.3", config_path="../configs", config_name="prepare")
def main(cfg: DictConfig) -> None:
    if "reader" not in cfg.data:
        sys.exit(f"Error: data={cfg.data.name} needs no face preparation (it is rendered in memory): choose a real dataset, e.g. data=folder data.root=DIR.")
    try:
        datamodule = hydra.utils.instantiate(cfg.data)
        prepared = datamodule.source.prepare()
    except Exception as error:
        message = user_message(error)
        if message is None:
            raise
        sys.exit(f"Error: {message}")
    print(prepared.summary)
    print(prepared.class_table())


if __name__ == "__main__":
    main()
