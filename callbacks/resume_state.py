"""ResumeState: what Lightning's checkpoint leaves out for an exact resume, and the way back
after an interruption.

Lightning's ``last.ckpt`` restores weights, epoch, optimizer, scheduler and callbacks (the
best-checkpoint tracking); this callback adds every rank's random number generators (torch,
CUDA, NumPy, Python) and, with ``num_workers=0``, the training transform's augmentation
generators, so a resumed run draws the same shuffles, dropout masks and augmentations as an
uninterrupted one (tested to 1e-6 on CPU). With loader workers, each worker's augmentation
is reseeded from the restored generators: reproducible, but not the uninterrupted stream.

On Ctrl+C or SIGTERM (what SLURM sends before preemption), it logs the exact command that
resumes the run from its last finished epoch.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ferlens.datamodules.transforms import FaceTransform
from ferlens.jobs.run_directory import last_checkpoint

log = logging.getLogger("ferlens.resume")


def _random_state(transform: FaceTransform | None) -> dict[str, Any]:
    """This process's generators, as plain ints, tuples and tensors (``weights_only``-safe)."""
    numpy_state = np.random.get_state(legacy=False)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {**numpy_state, "state": {"key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)), "pos": numpy_state["state"]["pos"]}},
        "python": random.getstate(),
        "transform": transform.random_state() if transform is not None else None,
    }


def _set_generators(state: dict[str, Any]) -> None:
    """Put this process's global generators back where ``_random_state`` found them."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    np.random.set_state({**numpy_state, "state": {"key": numpy_state["state"]["key"].numpy().astype(np.uint32), "pos": numpy_state["state"]["pos"]}})
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def explanation_interrupted(cause: str, checkpoint: str | None) -> str:
    """The sentence for an explanation pass (``train=false``) stopped by ``cause``: nothing
    was trained, so there is nothing to resume; the command that runs the pass again."""
    run_dir = Path(checkpoint).parents[1] if checkpoint and Path(checkpoint).parent.name == "checkpoints" else None
    again = f"python train.py explain={run_dir} (with the same settings)" if run_dir else "the same command"
    return f"Interrupted ({cause}) during the explanation pass, before its heatmaps were written (no training to resume): run it again with {again}."


class ResumeState(L.Callback):
    """Checkpoints every rank's generators and restores them on resume; names the resume
    command when training is interrupted.

    Args:
        run_dir: the run's output directory (the one ``resume=`` takes).
    """

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self._trainer: L.Trainer | None = None
        self._restored: list[dict[str, Any]] | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._trainer = trainer

    def _training_transform(self) -> FaceTransform | None:
        """The training loader's transform when it runs in this process (no workers)."""
        loader = self._trainer.train_dataloader if self._trainer is not None else None
        dataset = getattr(loader, "dataset", None)
        transform = getattr(dataset, "transform", None)
        return transform if isinstance(transform, FaceTransform) and getattr(loader, "num_workers", 1) == 0 else None

    def state_dict(self) -> dict[str, Any]:
        state = _random_state(self._training_transform())
        if dist.is_available() and dist.is_initialized():
            states: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(states, state)
            return {"ranks": states}
        return {"ranks": [state]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = state_dict["ranks"]

    def _mine(self, trainer: L.Trainer) -> dict[str, Any] | None:
        if self._restored is None or len(self._restored) == trainer.world_size:
            return None if self._restored is None else self._restored[trainer.global_rank]
        log.warning(
            "ResumeState: the checkpoint holds the generators of %d processes, this run has %d: random streams start afresh.",
            len(self._restored),
            trainer.world_size,
        )
        self._restored = None
        return None

    # The global generators go back twice: at fit start, and again after the sanity check,
    # whose loaders draw from them. Then, as in the uninterrupted run, the first draw is the
    # training loader's (Lightning creates it after the sanity check).
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if (state := self._mine(trainer)) is not None:
            _set_generators(state)

    def on_sanity_check_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.on_fit_start(trainer, pl_module)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The training transform exists from here on (and has not drawn yet)."""
        state = self._mine(trainer)
        transform = self._training_transform()
        if state is not None and transform is not None and state["transform"] is not None:
            transform.set_random_state(state["transform"])
        self._restored = None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not trainer.is_global_zero or not isinstance(exception, KeyboardInterrupt | SIGTERMException):
            return
        cause = "Ctrl+C" if isinstance(exception, KeyboardInterrupt) else "SIGTERM"
        if trainer.state.fn == "validate":  # train=false: the pass that explains given weights (explain=, init_from=)
            log.warning("%s", explanation_interrupted(cause, getattr(pl_module, "initial_checkpoint", None)))
        elif last_checkpoint(self.run_dir) is None:
            log.warning("Interrupted (%s) before the first epoch ended: nothing to resume, start the run again.", cause)
        else:
            log.warning(
                "Interrupted (%s): %s holds the last finished epoch. Resume with:\n  python train.py resume=%s",
                cause,
                last_checkpoint(self.run_dir),
                self.run_dir,
            )
