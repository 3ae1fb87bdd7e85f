"""Your own network, trained and explained by ferlens' command line, then reported.

``my_lab/nets.py`` (next to this file) is plain PyTorch: nothing in it comes from ferlens.
ferlens imports it through PYTHONPATH, builds it with the data's ``num_classes``, checks it on
one probe image (logits [B, classes], the ``cam_layer``), trains it, writes its global
heatmaps and ``analyze.py`` reports them. Run: ``python examples/own_network.py [OUTPUT_DIR]``
(a minute on a CPU: 117 synthetic faces, one epoch)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = Path(sys.argv[1] if len(sys.argv) > 1 else "own_network_output").resolve()
QUICK = ["data.source.num_images=117", "data.source.num_subjects=13", "data.num_folds=4", "trainer.max_epochs=1", "logger=csv"]


def main() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p), "WANDB_MODE": "offline"}
    train = [sys.executable, "-m", "ferlens.train", "model=custom", "model.net._target_=my_lab.nets.TinyCNN", "model.net.cam_layer=stage3"]
    train += ["model.input_size=48", "callbacks.global_saliency.target=label", "callbacks.global_saliency.per_class=4", f"paths.output_dir={OUTPUT / 'run'}"]
    subprocess.run(train + QUICK, env=env, check=True)
    analyze = [sys.executable, "-m", "ferlens.analyze", "source=local", f"source.paths=[{OUTPUT / 'run'}]", f"report_dir={OUTPUT / 'report'}"]
    analyze += ["statistics.resamples=50", "statistics.permutations=99", "statistics.split_halves=10", "progress=false", f"hydra.run.dir={OUTPUT / 'report'}"]
    subprocess.run(analyze, env=env, check=True)
    print(f"heatmaps: {OUTPUT / 'run' / 'heatmaps' / 'gradcampp'}; report: {OUTPUT / 'report' / 'summary.md'}")


if __name__ == "__main__":
    main()
