"""DDP under Hydra: one output directory and one W&B run per job, single runs and multiruns.

Lightning's ``ddp`` launcher re-runs the script for ranks > 0 with the *original* command
line. Under a Hydra multirun that command still carries ``-m`` and the sweep, so every
child would start the whole sweep again. Here the children get the current job's own
overrides instead, pointed at the job's output directory; and the launcher's environment
variables are removed after each job so that the next job of a multirun launches its own
children again.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import torch.distributed as dist
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

_LAUNCH_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


def hydra_job_command(local_rank: int) -> list[str]:
    """The command that re-creates the current Hydra job (not the sweep) as rank ``local_rank``."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import to_absolute_path

    hydra = HydraConfig.get()
    return [
        sys.executable,
        to_absolute_path(sys.argv[0]),
        *hydra.overrides.task,
        f"hydra.run.dir={hydra.runtime.output_dir}",
        f"hydra.job.name=ddp_rank_{local_rank}",
        "hydra.output_subdir=null",
    ]


class _HydraJobLauncher(_SubprocessScriptLauncher):
    def _call_children_scripts(self) -> None:
        from hydra.core.hydra_config import HydraConfig
        from hydra.utils import get_original_cwd

        if not HydraConfig.initialized():
            super()._call_children_scripts()
            return
        self._check_can_spawn_children()
        self.procs = []
        os.environ["MASTER_ADDR"] = self.cluster_environment.main_address
        os.environ["MASTER_PORT"] = str(self.cluster_environment.main_port)
        os.environ["NODE_RANK"] = str(self.cluster_environment.node_rank())
        os.environ["LOCAL_RANK"] = str(self.cluster_environment.local_rank())
        os.environ["WORLD_SIZE"] = f"{self.num_processes * self.num_nodes}"
        for local_rank in range(1, self.num_processes):
            env = os.environ.copy()
            env["LOCAL_RANK"] = f"{local_rank}"
            self.procs.append(subprocess.Popen(hydra_job_command(local_rank), env=env, cwd=get_original_cwd()))


class HydraDDPStrategy(DDPStrategy):
    """``DDPStrategy`` whose child processes re-create the current Hydra job."""

    def _configure_launcher(self) -> None:
        super()._configure_launcher()
        if self._start_method == "popen":
            self._launcher = _HydraJobLauncher(self.cluster_environment, self.num_processes, self.num_nodes)


@contextlib.contextmanager
def ddp_job_scope() -> Iterator[None]:
    """Run one job; afterwards tear down its process group and, in the launching process,
    remove the variables the launcher set, so the next job starts from a clean slate."""
    launched_here = "LOCAL_RANK" not in os.environ
    try:
        yield
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        if launched_here:
            for name in _LAUNCH_VARIABLES:
                os.environ.pop(name, None)
