import os

import pytest

from ferlens.jobs.explain import explain_arguments
from ferlens.user_errors import UserError
from tests.jobs.test_run_directory import _run


def test_explain_replays_the_run_with_its_best_checkpoint_and_the_users_settings_win(tmp_path):
    run = _run(tmp_path, "run")
    (run / ".hydra" / "overrides.yaml").write_text("- model=weinet\n- data.fold=3\n- saliency=[gradcampp]\n- train=true\n")
    older, newer = run / "checkpoints" / "epoch002-acc0.5000.ckpt", run / "checkpoints" / "epoch007-acc0.8000.ckpt"
    for age, path in enumerate([newer, older]):
        path.write_bytes(b"weights")
        os.utime(path, (1000 - age, 1000 - age))
    arguments = explain_arguments([f"explain={run}", "saliency=[lime,attention]", "callbacks.global_saliency.split=test"])
    assert arguments == [
        "model=weinet", "data.fold=3", "train=false", "test=false", f"init_from='{newer.resolve()}'",
        "saliency=[lime,attention]", "callbacks.global_saliency.split=test",
    ]  # fmt: skip
    assert explain_arguments(["model=vgg16"]) == ["model=vgg16"]


def test_bad_explain_requests_are_one_sentence(tmp_path):
    with pytest.raises(UserError, match=r"^explain='.*' is not a train.py run directory \(no .hydra/overrides.yaml\)"):
        explain_arguments([f"explain={tmp_path}"])
    untrained = _run(tmp_path, "untrained", checkpoint=False)
    with pytest.raises(UserError, match=r"has no checkpoint \(checkpoints/epoch\*.ckpt or last.ckpt\): train it first"):
        explain_arguments([f"explain={untrained}"])
