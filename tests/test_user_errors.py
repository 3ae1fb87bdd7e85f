"""The one exit for user mistakes: one sentence, exit status 1, other errors untouched."""

from __future__ import annotations

import hydra
import pytest
from omegaconf import OmegaConf

from ferlens.user_errors import UserError, exit_on_user_error, user_message


def test_a_user_error_exits_with_its_sentence_and_other_errors_pass_through():
    with pytest.raises(SystemExit) as exited, exit_on_user_error():
        raise UserError("data.root '/nope' does not exist: pass the dataset folder.")
    assert exited.value.code == "Error: data.root '/nope' does not exist: pass the dataset folder."
    with pytest.raises(ZeroDivisionError), exit_on_user_error():
        _ = 1 / 0


def test_a_misspelt_target_and_a_missing_value_are_user_mistakes():
    config = OmegaConf.create({"model": {"optimizer": {"_target_": "torch.optim.Adamm", "lr": 1e-3}}, "source": {"project": "???"}})
    with pytest.raises(Exception) as raised:
        hydra.utils.instantiate(config.model.optimizer)
    fix = "check its spelling (a class such as torch.optim.Adam) and, for your own code, that the folder holding its package is on PYTHONPATH"
    assert user_message(raised.value) == f"model.optimizer._target_=torch.optim.Adamm names nothing importable: {fix}."
    with pytest.raises(Exception) as raised:
        _ = config.source.project
    assert user_message(raised.value) == "The setting 'source.project' is required: add source.project=<value> to the command line."
    assert user_message(KeyError("x")) is None
