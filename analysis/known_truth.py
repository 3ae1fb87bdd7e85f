"""Known-truth check of a training run's global heatmaps on synthetic faces.

python -m analysis.known_truth <run dir> [--random <random-weights run dir>] [--min-share 0.25]

For each method of ``<run dir>/heatmaps/``, each class's heatmap against the pixels that
class's AUs changed (in at least ``min-share`` of the explained split's images, warped to
the template): whether it peaks inside them (the pointing game), the IoU of its Otsu region
with them, and the other localisation metrics of the unthresholded map (relevance mass and
rank accuracy, ROC-AUC), each averaged over the classes that have images; its specificity
(how many classes' maps score their own region best, and the permutation p of the region
labels); with ``--random``, the same for a run of the same network with random weights
(``train=false``), and the IoU ratio (a model-randomization sanity check).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from ferlens.analysis.statistics.specificity import permutation_p, specificity_rows
from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.datamodules.synthetic_truth import change_frequency, truth_regions
from ferlens.evaluation.localisation.scores import LOCALISATION_METRICS, Threshold, gray_levels, score_maps
from ferlens.formats.heatmap_artifact import read_artifact
from ferlens.jobs.config_resolvers import register_config_resolvers
from ferlens.user_errors import UserError, exit_on_user_error


def artifact_directories(run_dir: str | Path) -> list[Path]:
    """The run's heatmap artifacts, ``<run dir>/heatmaps/<method>``, sorted by method."""
    directories = sorted(path.parent for path in (Path(run_dir) / "heatmaps").glob("*/manifest.json"))
    if not directories:
        raise UserError(f"'{run_dir}' has no heatmaps/<method>/manifest.json: run train.py with callbacks=[default,global_saliency].")
    return directories


def run_truth(run_dir: str | Path, min_share: float = 0.25) -> np.ndarray:
    """bool [C, 275, 224]: the generating AU regions of each class for the split the run's
    heatmaps explained (its first artifact's ``selection.split``; artifacts that predate the
    test-split default explained ``val``) of the run's own (synthetic) data config; an input
    size the saved config leaves to the network (null) is the one the run's artifacts record."""
    config_path = Path(run_dir) / ".hydra" / "config.yaml"
    if not config_path.is_file():
        raise UserError(f"'{run_dir}' has no .hydra/config.yaml: give the directory of a train.py run.")
    register_config_resolvers()  # the saved config derives its input side: ${ferlens.input_size:}
    config = OmegaConf.load(config_path)
    manifest = read_artifact(artifact_directories(run_dir)[0]).manifest
    split = manifest.selection.split or "val"
    if config.model.get("input_size") is None:
        input_size = manifest.run.input_size
        if input_size is None:
            raise UserError(f"The run in '{run_dir}' records no input size (config or artifact): rerun it with this ferlens.")
        OmegaConf.update(config, "model.input_size", input_size)
    datamodule = hydra.utils.instantiate(config.data)
    if not isinstance(datamodule.source, SyntheticFaces):
        raise UserError(f"The run in '{run_dir}' did not train on synthetic faces: known truth exists only for data=synthetic.")
    datamodule.setup()
    return truth_regions(change_frequency(datamodule.source, np.asarray(datamodule.splits[split])), min_share)


SOFT_MEANS = ("mass_accuracy", "rank_accuracy", "roc_auc")  # averaged per method, like the IoU
#: the metric of the specificity columns (does each class's map score its own region best?)
SPECIFICITY_METRIC = "mass_accuracy"


def truth_matrices(heatmaps: np.ndarray, truth: np.ndarray, counts: list[int]) -> tuple[list[int], dict[str, np.ndarray]]:
    """(the classes with images, {metric: [E, E]}): every class heatmap [C, H, W] of those
    classes against every class's truth region [C, H, W] (the specificity matrix)."""
    present = [c for c, count in enumerate(counts) if count > 0]
    flat = heatmaps[present].reshape(len(present), -1)
    return present, score_maps(gray_levels(flat), flat, truth[present].reshape(len(present), -1), Threshold())


def score_against_truth(heatmaps: np.ndarray, truth: np.ndarray, counts: list[int]) -> pd.DataFrame:
    """One row per class: ``iou`` of the Otsu region of the stretched heatmap [C, H, W] with
    the truth [C, H, W], and the localisation metrics of the unthresholded heatmap; NaN
    for a class without images (``counts`` 0: missing, not zero)."""
    present, matrices = truth_matrices(heatmaps, truth, counts)
    rows = [dict.fromkeys(("iou", *LOCALISATION_METRICS), np.nan) for _ in counts]
    for i, c in enumerate(present):
        rows[c] = {metric: float(matrices[metric][i, i]) for metric in ("iou", *LOCALISATION_METRICS)}
    return pd.DataFrame(rows)


def method_summary(directory: Path, truth: np.ndarray, prefix: str = "") -> dict[str, float]:
    """The artifact in ``directory`` against the truth: classes with images, pointing-game
    hits (``peaks_inside``), the means over those classes of the IoU and ``SOFT_MEANS``, and
    the specificity by ``SPECIFICITY_METRIC``: the classes whose own region scores best of
    all the classes' regions (``own_best``) and the exact permutation p of the region labels
    (``specificity_p``; analysis/statistics/specificity.py)."""
    artifact = read_artifact(directory)
    counts = artifact.manifest.class_counts()
    scores = score_against_truth(artifact.heatmaps, truth, counts)
    present = scores.dropna(subset=["iou"])
    row = {"classes": len(present), "peaks_inside": int(present.pointing_game.sum()), "mean_iou": float(present.iou.mean())}
    row |= {metric: float(present[metric].mean()) for metric in SOFT_MEANS}
    names, matrices = truth_matrices(artifact.heatmaps, truth, counts)
    specific = specificity_rows("", "", "", [artifact.classes[c] for c in names], {SPECIFICITY_METRIC: matrices[SPECIFICITY_METRIC]})
    row["own_best"] = sum(1 for entry in specific if entry[8] == 1)
    row["specificity_p"] = permutation_p([matrices[SPECIFICITY_METRIC]], 9999, np.random.default_rng(0))[2] if len(names) >= 2 else np.nan
    return {prefix + key: value for key, value in row.items()}


def evaluate(run_dir: str | Path, random_dir: str | Path | None = None, min_share: float = 0.25) -> pd.DataFrame:
    """One row per method: ``method_summary`` of the run, and with ``random_dir`` the same
    for random weights (``random_`` columns) and the IoU ratio."""
    truth = run_truth(run_dir, min_share)
    rows = []
    for directory in artifact_directories(run_dir):
        row = {"method": directory.name, **method_summary(directory, truth)}
        if random_dir is not None:
            row |= method_summary(Path(random_dir) / "heatmaps" / directory.name, truth, "random_")
            row["iou_ratio"] = row["mean_iou"] / row["random_mean_iou"] if row["random_mean_iou"] else float("inf")
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--random", dest="random_dir", default=None, help="a train=false run of the same network (random weights)")
    parser.add_argument("--min-share", type=float, default=0.25, help="share of a class's images whose AUs changed a pixel")
    arguments = parser.parse_args()
    with exit_on_user_error():
        print(evaluate(arguments.run_dir, arguments.random_dir, arguments.min_share).to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()
