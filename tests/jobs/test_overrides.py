import pytest
from omegaconf import OmegaConf

from ferlens.jobs.overrides import refuse_unread_additions
from ferlens.user_errors import UserError

CONFIG = OmegaConf.create(
    {
        "seed": 1,
        "init_from": None,
        "trainer": {"_target_": "lightning.pytorch.Trainer", "max_epochs": 3, "gradient_clip_val": 0.5},
        "model": {"_target_": "x.Module", "net": {"name": "vgg16", "flag": 1}},
        "paths": {"log_dir": "logs", "extra": 2},
    }
)
GROUPS = {"model", "trainer", "experiment", "hydra/launcher"}


@pytest.mark.parametrize("override", ["+trainer.gradient_clip_val=0.5", "+model.net.flag=1", "+experiment=paper", "seed=3", "++paths.extra=2"])
def test_additions_a_constructor_or_a_group_reads_pass(override):
    refuse_unread_additions([override], CONFIG, GROUPS)


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        ("+ckpt_path=/runs/a/last.ckpt", "to continue a run use resume=<run dir> or resume=last; to start from a checkpoint's weights use init_from=<.ckpt>."),
        ("+paths.logdir=runs", "did you mean paths.log_dir=...?"),
        ("+sed=2", "did you mean seed=...?"),
        ("+nothing_like_it=1", "python train.py --cfg job lists the settings."),
    ],
)
def test_an_addition_nothing_reads_is_refused_in_one_sentence(override, hint):
    config = CONFIG.copy()
    OmegaConf.update(config, override[1:].split("=")[0], 1, force_add=True)  # as Hydra composed it
    with pytest.raises(UserError) as error:
        refuse_unread_additions(["seed=2", override], config, GROUPS)
    assert str(error.value) == f"'{override}' adds a setting that train.py never reads, so it would be silently ignored: {hint}"
