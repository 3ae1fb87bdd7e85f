"""Lightning's W&B logger without its console noise: Lightning always passes
``anonymous=None`` to ``wandb.init``, which wandb 0.2x+ answers with a deprecation warning on
every run, and wandb ends each run with a thirty-line history panel that repeats the run's
own summary."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger


class WandbLogger(LightningWandbLogger):
    """``lightning.pytorch.loggers.WandbLogger``; ``anonymous`` reaches ``wandb.init`` only
    when set, and ``quiet`` (default true) becomes wandb's ``settings.quiet`` unless the
    ``settings`` given choose otherwise. wandb still prints where the run is saved and how
    to sync it."""

    def __init__(self, *args: Any, quiet: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._wandb_init.get("anonymous") is None:
            del self._wandb_init["anonymous"]
        settings = self._wandb_init.get("settings")
        if settings is None:
            self._wandb_init["settings"] = {"quiet": quiet}
        elif isinstance(settings, dict):
            settings.setdefault("quiet", quiet)
