"""Do a method's heatmaps explain the model? The sanity checks of one heatmap pass.

- Faithfulness (on by default, ``callbacks.global_saliency.faithfulness``): deletion and
  insertion curves with their AUCs and ROAD (MoRF, LeRF, combined) of every explained image
  (``evaluation/faithfulness/curves.py``), per class.
- Model-parameter randomisation (``+sanity=mprt``): the first ``per_class`` explained images
  of each class re-explained under cascading (top-down) and independent randomisation of
  every layer (``evaluation/randomisation/mprt.py``), Spearman and SSIM of each map with the trained
  network's per layer and class; a method whose maps stay correlated above ``threshold`` with
  those of the fully randomised network "fails the model-randomisation check".

Both accumulate in torchmetrics ``Metric``s summed across DDP ranks (each image on the one rank
that explains it) and end up in the artifact's manifest (``faithfulness``, ``randomisation``)
with a figure of the correlation against the randomised depth (``randomisation.png``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ferlens.evaluation.faithfulness.accumulator import FaithfulnessAccumulator
from ferlens.evaluation.faithfulness.curves import DELETION_STEPS, NORMALISATION, ROAD_FRACTIONS, ROAD_NOISE, deletion_insertion, road
from ferlens.evaluation.randomisation.accumulator import RandomisationAccumulator
from ferlens.evaluation.randomisation.mprt import (
    DRAWS,
    FAILURE_THRESHOLD,
    MODES,
    fails_randomisation_check,
    model_parameter_randomisation,
    randomisation_layers,
)
from ferlens.formats.manifest import FaithfulnessCheck, RandomisationCheck
from ferlens.user_errors import UserError

RANDOMISATION_FIGURE = "randomisation.png"


@dataclass(frozen=True)
class FaithfulnessSettings:
    """``steps`` of the deletion / insertion curves, ROAD ``fractions`` and ``noise`` (raw
    pixel units), ``batch_size`` perturbed images per forward pass."""

    steps: int = DELETION_STEPS
    fractions: tuple[float, ...] = ROAD_FRACTIONS
    noise: float = ROAD_NOISE
    batch_size: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "fractions", tuple(float(f) for f in self.fractions))


@dataclass(frozen=True)
class RandomisationSettings:
    """``per_class`` images of each class re-explained, ``draws`` independent randomisations,
    the failure ``threshold`` on the fully randomised network's mean Spearman, ``seed``."""

    per_class: int = 10
    draws: int = DRAWS
    threshold: float = FAILURE_THRESHOLD
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.per_class, bool) or not isinstance(self.per_class, int) or self.per_class < 1:
            raise UserError(f"sanity per_class={self.per_class!r} is not valid: re-explain 1 or more images per class (default 10).")


def randomisation_chosen(classes: np.ndarray, per_class: int) -> np.ndarray:
    """bool [N]: the first ``per_class`` of each class among the selected samples' ``classes``
    (in selection order, the same on every rank)."""
    chosen = np.zeros(len(classes), bool)
    for cls in np.unique(classes):
        chosen[np.flatnonzero(classes == cls)[:per_class]] = True
    return chosen


class SanityPass:
    """The sanity checks of one method over one heatmap pass: ``update`` with each batch
    (on its rank), then ``results`` on every rank (collective) for the manifest."""

    def __init__(
        self,
        num_classes: int,
        faithfulness: FaithfulnessSettings | None,
        randomisation: RandomisationSettings | None,
        net: nn.Module,
        sample: torch.Tensor | None,
        device: torch.device,
    ) -> None:
        """``sample``: one image [3, H, W] whose forward pass finds the layers to randomise (needed with ``randomisation``)."""
        self.faithfulness, self.randomisation = faithfulness, randomisation
        self.faithful = FaithfulnessAccumulator(num_classes, faithfulness.steps, len(faithfulness.fractions)).to(device) if faithfulness else None
        self.layers = randomisation_layers(net, sample[None].to(device)) if randomisation and sample is not None else None
        self.randomised = RandomisationAccumulator(num_classes, len(self.layers.layers)).to(device) if self.layers is not None else None

    def update(self, net: nn.Module, explainer: Any, images: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor, randomise: torch.Tensor) -> None:
        """One batch: raw ``images`` [B, 3, H, W], their ``maps`` [B, H, W] in image pixels,
        ``targets`` [B]; ``randomise`` [B] bool marks the images the randomisation re-explains."""
        if self.faithful is not None and len(images):
            settings = self.faithfulness
            curves = deletion_insertion(net, images, maps, targets, settings.steps, batch_size=settings.batch_size)
            scores = road(net, images, maps, targets, settings.fractions, settings.noise, batch_size=settings.batch_size)
            self.faithful.update(curves, scores, targets)
        if self.randomised is not None and bool(randomise.any()):
            chosen = randomise.to(images.device)
            settings = self.randomisation
            scores = model_parameter_randomisation(net, explainer, images[chosen], targets[chosen], settings.seed, settings.draws)
            self.randomised.update(scores, targets[chosen])

    def results(self, class_names: list[str]) -> dict[str, FaithfulnessCheck | RandomisationCheck]:
        """The manifest entries (``faithfulness``, ``randomisation``: the checks that ran, as
        keyword arguments of ``HeatmapManifest``); every rank must call it."""
        entries: dict[str, FaithfulnessCheck | RandomisationCheck] = {}
        if self.faithful is not None:
            computed = self.faithful.compute()
            settings = self.faithfulness
            entries["faithfulness"] = FaithfulnessCheck(
                steps=settings.steps,
                fractions=settings.fractions,
                noise=float(settings.noise),
                baseline="black (0)",
                per_class=_per_class(computed["per_class"], class_names),
                overall=_plain(computed["overall"]),
                normalised=NORMALISATION,
            )
        if self.randomised is not None:
            computed = self.randomised.compute()
            settings = self.randomisation
            overall = computed["overall"]
            full = float(overall["cascading_spearman"][-1])  # every layer randomised
            entries["randomisation"] = RandomisationCheck(
                layers=tuple(self.layers.layers),
                skipped=tuple(self.layers.skipped),
                draws=settings.draws,
                threshold=float(settings.threshold),
                per_class=_per_class(computed["per_class"], class_names),
                overall=_plain(overall),
                fully_randomised_spearman=full,
                fails=bool(fails_randomisation_check(full, settings.threshold)),
            )
        return entries


def _plain(values: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Tensors as JSON values (lists, floats, ints; NaN stays NaN)."""
    return {name: value.tolist() for name, value in values.items()}


def _per_class(values: dict[str, torch.Tensor], class_names: list[str]) -> dict[str, dict[str, Any]]:
    return {name: {key: value[c].tolist() for key, value in values.items()} for c, name in enumerate(class_names)}


def randomisation_figure(entry: RandomisationCheck, title: str) -> Figure:
    """Spearman of the maps with the trained network's against the randomised depth (1 = the
    output layer), cascading and independent, one line per class and the mean over all
    images in black, the failure threshold dashed."""
    figure = Figure(figsize=(9.0, 3.4), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    depth = np.arange(1, len(entry.layers) + 1)
    for axis, mode in zip(axes, MODES, strict=True):
        for name, values in entry.per_class.items():
            if values["counts"]:
                axis.plot(depth, values[f"{mode}_spearman"], linewidth=0.8, alpha=0.7, label=name)
        axis.plot(depth, entry.overall[f"{mode}_spearman"], color="black", linewidth=2.0, label="all images")
        axis.axhline(entry.threshold, color="tab:red", linestyle="--", linewidth=0.8)
        axis.set_title(f"{mode} randomisation", fontsize=9)
        axis.set_xlabel("layers randomised, from the output" if mode == "cascading" else "the layer randomised (1 = the output layer)", fontsize=8)
        axis.set_ylim(-1.05, 1.05)
        axis.grid(linewidth=0.3, alpha=0.5)
        axis.tick_params(labelsize=7)
    axes[0].set_ylabel("Spearman r with the trained maps", fontsize=8)
    axes[1].legend(fontsize=6, loc="lower left")
    verdict = "fails the model-randomisation check" if entry.fails else "passes the model-randomisation check"
    figure.suptitle(f"{title}: {verdict} (fully randomised r = {entry.fully_randomised_spearman:.2f}, threshold {entry.threshold:g})", fontsize=9)
    return figure


def write_randomisation_figure(directory: Path, entry: RandomisationCheck, title: str) -> Path:
    path = directory / RANDOMISATION_FIGURE
    randomisation_figure(entry, title).savefig(path, dpi=110)
    return path
