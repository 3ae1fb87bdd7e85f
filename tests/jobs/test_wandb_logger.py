"""ferlens' WandbLogger: Lightning's, minus anonymous=None and wandb's end-of-run panel."""

from __future__ import annotations

from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger

from ferlens.jobs.wandb_logger import WandbLogger


def test_anonymous_reaches_wandb_only_when_set_and_runs_are_quiet_unless_told(tmp_path):
    default = WandbLogger(project="ferlens", save_dir=str(tmp_path), mode="offline")
    assert isinstance(default, LightningWandbLogger)
    assert "anonymous" not in default._wandb_init and default._wandb_init["settings"] == {"quiet": True}
    assert WandbLogger(project="ferlens", anonymous=True, quiet=False)._wandb_init["anonymous"] == "allow"
    assert WandbLogger(project="ferlens", quiet=False)._wandb_init["settings"] == {"quiet": False}
    assert WandbLogger(project="ferlens", settings={"quiet": False, "silent": True})._wandb_init["settings"] == {"quiet": False, "silent": True}


def test_an_offline_run_starts_without_the_anonymous_warning(tmp_path, capsys):
    logger = WandbLogger(project="ferlens", save_dir=str(tmp_path), mode="offline")
    run = logger.experiment
    assert run.settings.quiet and run.settings.mode == "offline"
    run.finish()
    printed = capsys.readouterr()
    assert "anonymous" not in printed.out + printed.err and "Run history" not in printed.out + printed.err
