"""Known-truth check of a training run's global heatmaps on synthetic faces.

python -m analysis.known_truth <run dir> [--random <random-weights run dir>] [--min-share 0.25]

For each method of ``<run dir>/heatmaps/``: whether each class's heatmap peaks inside the
pixels that class's AUs changed (in at least ``min-share`` of its validation images,
warped to the template), and the IoU of its Otsu region with them; with ``--random``, the
same for a run of the same network with random weights (``train=false``), and the ratio
(a model-randomization sanity check).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from analysis.scoring import Threshold, binary_scores
from datamodules.synthetic import SyntheticFaces
from datamodules.synthetic_truth import change_frequency, truth_regions
from formats.heatmap_artifact import read_artifact, stretch
from user_errors import UserError


def run_truth(run_dir: str | Path, min_share: float = 0.25) -> np.ndarray:
    """bool [C, 275, 224]: the generating AU regions of each class for the validation split of
    the run's own (synthetic) data config."""
    config_path = Path(run_dir) / ".hydra" / "config.yaml"
    if not config_path.is_file():
        raise UserError(f"'{run_dir}' has no .hydra/config.yaml: give the directory of a train.py run.")
    datamodule = hydra.utils.instantiate(OmegaConf.load(config_path).data)
    if not isinstance(datamodule.source, SyntheticFaces):
        raise UserError(f"The run in '{run_dir}' did not train on synthetic faces: known truth exists only for data=synthetic.")
    datamodule.setup()
    return truth_regions(change_frequency(datamodule.source, np.asarray(datamodule.splits["val"])), min_share)


def score_against_truth(heatmaps: np.ndarray, truth: np.ndarray) -> tuple[list[bool], list[float]]:
    """Per class: does the heatmap [C, H, W] peak inside the truth [C, H, W], and the IoU of
    its Otsu region (on the stretched uint8 map) with the truth."""
    peaks, ious = [], []
    for heatmap, region in zip(heatmaps, truth, strict=True):
        peaks.append(bool(region[np.unravel_index(np.argmax(heatmap), heatmap.shape)]))
        gray = stretch(heatmap)
        ious.append(binary_scores(gray > Threshold().level(gray), region)["iou"])
    return peaks, ious


def evaluate(run_dir: str | Path, random_dir: str | Path | None = None, min_share: float = 0.25) -> pd.DataFrame:
    """One row per method: peaks inside (count), mean IoU, and with ``random_dir`` the random-weights mean IoU and the ratio."""
    truth = run_truth(run_dir, min_share)
    rows = []
    for directory in sorted((Path(run_dir) / "heatmaps").iterdir()):
        peaks, ious = score_against_truth(read_artifact(directory).heatmaps, truth)
        row = {"method": directory.name, "peaks_inside": sum(peaks), "classes": len(peaks), "mean_iou": float(np.mean(ious))}
        if random_dir is not None:
            random_peaks, random_ious = score_against_truth(read_artifact(Path(random_dir) / "heatmaps" / directory.name).heatmaps, truth)
            row |= {"random_peaks_inside": sum(random_peaks), "random_mean_iou": float(np.mean(random_ious))}
            row["iou_ratio"] = row["mean_iou"] / row["random_mean_iou"] if row["random_mean_iou"] else float("inf")
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--random", dest="random_dir", default=None, help="a train=false run of the same network (random weights)")
    parser.add_argument("--min-share", type=float, default=0.25, help="share of a class's images whose AUs changed a pixel")
    arguments = parser.parse_args()
    try:
        print(evaluate(arguments.run_dir, arguments.random_dir, arguments.min_share).to_string(index=False, float_format="%.3f"))
    except UserError as error:
        raise SystemExit(f"Error: {error}") from error


if __name__ == "__main__":
    main()
