"""What a user types is checked before any work starts: one sentence naming the fix, before
torch is imported (each of these ended in a traceback or a raw library error)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from ferlens.jobs.config_check import check_values
from ferlens.user_errors import UserError
from tests.conftest import ROOT

#: Runs an entry script in-process and reports whether torch was imported before it exited.
RUN_SCRIPT = (
    "import runpy, sys\n"
    "script = sys.argv[1]; sys.argv = [script, *sys.argv[2:]]\n"
    "try:\n    runpy.run_path(script, run_name='__main__')\n"
    "except SystemExit as exit:\n    print('exit:', exit.code, file=sys.stderr)\n"
    "print('torch loaded:', 'torch' in sys.modules, file=sys.stderr)\n"
)

BATCH_FIX = "give the number of training images per batch, e.g. data.batch_size=64."
CASES = [
    ("train.py", ["data.batch_size=0"], f"Error: data.batch_size=0 must be at least 1: {BATCH_FIX}"),
    ("train.py", ["data.batch_size=-3"], f"Error: data.batch_size=-3 must be at least 1: {BATCH_FIX}"),
    ("train.py", ["data.batch_size=abc"], f"Error: data.batch_size=abc is not a whole number: {BATCH_FIX}"),
    (
        "train.py",
        ["trainer.max_epochs=-5"],
        "Error: trainer.max_epochs=-5 must be at least 1, or -1 for no limit: give the number of epochs, e.g. trainer.max_epochs=12.",
    ),
    (
        "train.py",
        ["trainer.max_epoch=1"],
        "Error: trainer.max_epoch is not a setting: did you mean trainer.max_epochs? (+trainer.max_epoch=1 would add it as a new key)",
    ),
    ("train.py", ["data.fold=7"], "Error: data.fold=7 is beyond data.num_folds=5: choose a fold from 1 to 5."),
    (
        "train.py",
        ["model=vgg16", "model.optimizer.lr=0"],
        "Error: model.optimizer.lr=0 must be above 0: give the learning rate, e.g. model.optimizer.lr=1e-4.",
    ),
    (
        "analyze.py",
        ["masks=[ekman,foo]"],
        "Error: masks=[ekman,foo] sets masks to a list, but masks is a group of settings: set one of them, e.g. masks.<name>=<value>.",
    ),
    ("analyze.py", ["filter.model=x"], "Error: filter.model is not a setting: did you mean filters? (+filter.model=x would add it as a new key)"),
    (
        "analyze.py",
        ["source.lates=true"],
        "Error: source.lates is not a setting: did you mean source.latest? (+source.lates=true would add it as a new key)",
    ),
    (
        "analyze.py",
        ["statistics.resamples=0"],
        "Error: statistics.resamples=0 must be at least 1: give the number of bootstrap resamples, e.g. statistics.resamples=2000.",
    ),
]


@pytest.mark.parametrize(("script", "arguments", "sentence"), CASES, ids=[" ".join(case[1]) for case in CASES])
def test_a_bad_setting_ends_in_one_sentence_before_torch_loads(script, arguments, sentence):
    done = subprocess.run([sys.executable, "-c", RUN_SCRIPT, script, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert lines == [f"exit: {sentence}", "torch loaded: False"], done.stderr[-2000:]


def test_good_settings_pass_and_multirun_values_are_checked_per_job(compose_train, tmp_path):
    cfg = compose_train(f"paths.output_dir={tmp_path}", "data.batch_size=8", "trainer.max_epochs=-1")
    check_values(cfg, "train")  # passes
    OmegaConf.update(cfg, "data.batch_size", 0)  # what one job of `-m data.batch_size=8,0` composes
    with pytest.raises(UserError, match=r"^data.batch_size=0 must be at least 1"):
        check_values(cfg, "train")


def test_a_sweep_reaches_each_job_and_a_bad_value_stops_it_in_one_sentence(tmp_path):
    done = subprocess.run(
        [sys.executable, "train.py", "-m", "data.batch_size=0,-1", f"hydra.sweep.dir={tmp_path}"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1] == (
        f"Error: data.batch_size=0 must be at least 1: {BATCH_FIX}"
    ), done.stderr[-2000:]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("typed", "meant"), [("no", False), ("off", False), ("0", False), ("false", False), ("yes", True), ("on", True), ("1", True)])
def test_a_switch_typed_as_a_word_reaches_the_job_as_the_boolean_it_means(compose_train, tmp_path, typed, meant):
    cfg = compose_train(f"paths.output_dir={tmp_path}", f"train={typed}", f"data.augment={typed}", f"test={typed}")
    check_values(cfg, "train")
    assert cfg.train is meant and cfg.test is meant and cfg.data.augment is meant


@pytest.mark.parametrize(
    ("override", "sentence"),
    [
        ("train=maybe", "train=maybe is not true or false"),
        ("data.augment=2", "data.augment=2 is not true or false"),
        ("data.augment=strong", "data.augment=strong is not true or false"),
        ("trainer.accelerator=gpx", "trainer.accelerator=gpx is not one of auto, cpu, gpu, cuda, mps, tpu (did you mean gpu?)"),
        ("data.split=kfolds", "data.split=kfolds is not a choice (did you mean kfold?): choose kfold"),
        ("data.val_fraction=1.5", "data.val_fraction=1.5 must be from 0 to 0.9"),
        ("trainer.fast_dev_run=-1", "trainer.fast_dev_run=-1 must be at least 0"),
        ("callbacks.global_saliency.per_class=0", "callbacks.global_saliency.per_class=0 must be at least 1"),
    ],
)
def test_a_typed_setting_refuses_what_its_type_cannot_read(compose_train, tmp_path, override, sentence):
    cfg = compose_train(f"paths.output_dir={tmp_path}", override)
    with pytest.raises(UserError) as refused:
        check_values(cfg, "train")
    assert str(refused.value).startswith(sentence) and str(refused.value).endswith(".")


def test_data_root_that_is_a_file_is_named_as_a_file(compose_train, tmp_path):
    image = tmp_path / "face.jpg"
    image.write_bytes(b"\xff\xd8")
    cfg = compose_train(f"paths.output_dir={tmp_path}", "data=folder", f"data.root={image}")
    with pytest.raises(UserError, match=r"is a file; data.root is the folder that holds the class folders"):
        check_values(cfg, "train")
