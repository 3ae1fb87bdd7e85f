"""Model-parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps";
Quantus' ``MPRT``): do a method's maps change when the network's learned weights are destroyed?

Layers: the modules that own parameters themselves (``parameters(recurse=False)``: conv,
linear, norm, ...) and have ``reset_parameters()``, in the order the forward pass first calls
them; **top-down** is the reverse (``layers[0]`` is the output layer). A module with parameters
but no ``reset_parameters`` is not randomised and named in ``skipped``, as is one the forward
pass never calls. For the networks of the registry these are the modules Quantus randomises
(every module with ``reset_parameters``), in the same order.

Randomising a layer = its own ``reset_parameters()`` (PyTorch's default init for conv and
linear layers; BatchNorm back to weight 1, bias 0, running mean 0, variance 1) right after
``torch.manual_seed(layer_seed(seed, draw, depth))``: a layer gets the same random weights in
the cascading and the independent run of a draw, and every layer its own stream. (Quantus
seeds every layer with the same ``seed + 1``, so the first weights of all layers are
proportional draws of one stream; ``tests/evaluation/randomisation/test_mprt.py`` gives ours that
seeding to compare with it.) The caller's RNG state and network are left untouched (a deep
copy is randomised).

A randomised network's map is largely one spatial pattern whatever the image (PyTorch's
default init shrinks the signal from layer to layer, so biases and zero padding dominate),
and its correlation with the trained network's map depends on the random draw more than on
the image (the trained ``smallcnn`` of the tests, Grad-CAM++ at full randomisation: 0.05 to
0.54 over 8 draws, within 0.02 of that with the image pairs shuffled). So each image's similarities are
averaged over ``draws`` independent randomisations (default 3; 1 is Quantus' and Adebayo's
single draw).

Cascading: layers ``[0..d]`` randomised for depth d = 1..L; independent: layer d alone, the
others trained. At each step the images are re-explained and each map compared with the map
of the trained network: Spearman rank correlation and SSIM (``evaluation.randomisation.similarity``), both
on the non-negative maps the explainers return (Adebayo's "absolute" variant; SSIM after each
map is divided by its own maximum).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ferlens.evaluation.randomisation.similarity import spearman, ssim
from ferlens.saliency.base import Explainer
from ferlens.user_errors import UserError

MODES = ("cascading", "independent")
DRAWS = 3

#: Mean Spearman correlation with the fully randomised network's maps above which a method
#: "fails the model-randomisation check".
FAILURE_THRESHOLD = 0.5


@dataclass(frozen=True)
class RandomisationLayers:
    """The layers randomised, top-down (``layers[0]`` = the output layer), and the modules with
    parameters that are not (``"name: reason"``)."""

    layers: tuple[str, ...]
    skipped: tuple[str, ...]


@dataclass(frozen=True)
class RandomisationScores:
    """Similarities of each step's maps with the trained network's maps.

    ``spearman_per_draw[mode]`` and ``ssim_per_draw[mode]`` are [D, L, B] float64 for D draws,
    L layers, B images (index d-1 = depth d: for ``cascading`` the top d layers randomised, for
    ``independent`` only ``layers[d-1]``); Spearman is NaN where a map is constant.
    ``spearman[mode]`` / ``ssim[mode]`` [L, B] are each image's means over the draws (Spearman
    over the draws where it is defined; NaN if none is). ``targets`` [B] are the explained classes."""

    layers: tuple[str, ...]
    skipped: tuple[str, ...]
    targets: torch.Tensor
    spearman_per_draw: dict[str, torch.Tensor]
    ssim_per_draw: dict[str, torch.Tensor]

    @property
    def spearman(self) -> dict[str, torch.Tensor]:
        return {mode: values.nanmean(dim=0) for mode, values in self.spearman_per_draw.items()}

    @property
    def ssim(self) -> dict[str, torch.Tensor]:
        return {mode: values.mean(dim=0) for mode, values in self.ssim_per_draw.items()}

    def records(self) -> list[dict[str, object]]:
        """One row per (mode, draw, depth, image): mode, draw, depth (1 = output layer), layer,
        image (index in the batch), target, spearman, ssim."""
        return [
            {
                "mode": mode,
                "draw": draw,
                "depth": depth + 1,
                "layer": layer,
                "image": image,
                "target": int(self.targets[image]),
                "spearman": float(self.spearman_per_draw[mode][draw, depth, image]),
                "ssim": float(self.ssim_per_draw[mode][draw, depth, image]),
            }
            for mode in MODES
            for draw in range(len(self.spearman_per_draw[mode]))
            for depth, layer in enumerate(self.layers)
            for image in range(len(self.targets))
        ]


def randomisation_layers(net: nn.Module, images: torch.Tensor) -> RandomisationLayers:
    """The layers of ``net`` that the test randomises, top-down (see the module docstring),
    found with one forward pass of ``images[:1]`` (eval mode, no gradients; the mode is restored)."""
    owners = {name: module for name, module in net.named_modules() if any(True for _ in module.parameters(recurse=False))}
    candidates = {name: module for name, module in owners.items() if callable(getattr(module, "reset_parameters", None))}
    called: list[str] = []

    def record(name: str) -> None:
        if name not in called:
            called.append(name)

    handles = [module.register_forward_pre_hook(lambda _module, _inputs, name=name: record(name)) for name, module in candidates.items()]
    training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(images[:1])
    finally:
        net.train(training)
        for handle in handles:
            handle.remove()
    skipped = [f"{name}: no reset_parameters()" for name in owners if name not in candidates]
    skipped += [f"{name}: not called in the forward pass" for name in candidates if name not in called]
    return RandomisationLayers(tuple(reversed(called)), tuple(skipped))


def layer_seed(seed: int, draw: int, depth: int) -> int:
    """The torch seed of the layer at ``depth`` (1 = output layer) in randomisation ``draw``."""
    return int(np.random.SeedSequence([seed, draw, depth]).generate_state(1)[0])


def randomise_layer(module: nn.Module, seed: int) -> None:
    """Re-initialise ``module`` in place with its own ``reset_parameters()`` under
    ``torch.manual_seed(seed)``, leaving the caller's RNG state as it was."""
    devices = sorted({p.device.index or 0 for p in module.parameters(recurse=False) if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        module.reset_parameters()


def model_parameter_randomisation(
    net: nn.Module, explainer: Explainer, images: torch.Tensor, targets: torch.Tensor, seed: int = 0, draws: int = DRAWS
) -> RandomisationScores:
    """Cascading (top-down) and independent randomisation of every layer of ``net`` (a deep
    copy; ``net`` is not changed), the batch re-explained at each step, ``draws`` times:
    raw ``images`` [B, 3, H, W] in [0, 1], target classes ``targets`` [B]. 2 L draws + 1
    explainer calls."""
    if draws < 1:
        raise UserError(f"The randomisation check needs at least 1 draw, got {draws}: set draws to 1 or more (default {DRAWS}).")
    with torch.inference_mode(False):  # Lightning may call this under inference mode: the copy must take gradients
        images, targets = images.clone(), targets.clone()
        randomised = copy.deepcopy(net)
        found = randomisation_layers(randomised, images)
        if not found.layers:
            raise UserError(
                f"{type(net).__name__} has no layer to randomise (no module with parameters and reset_parameters() is called in its forward pass): "
                "choose a network with conv, linear or norm layers."
            )
        original = explainer(randomised, images, targets)
        trained = {name: {key: value.clone() for key, value in randomised.get_submodule(name).state_dict().items()} for name in found.layers}
        similarities: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {mode: [] for mode in MODES}

        def compare(mode: str) -> None:
            maps = explainer(randomised, images, targets)
            similarities[mode].append((spearman(original, maps), ssim(original, maps)))

        for draw in range(draws):
            for depth, name in enumerate(found.layers, start=1):
                randomise_layer(randomised.get_submodule(name), layer_seed(seed, draw, depth))
                compare("cascading")
            for name in found.layers:
                randomised.get_submodule(name).load_state_dict(trained[name])
            for depth, name in enumerate(found.layers, start=1):
                layer = randomised.get_submodule(name)
                randomise_layer(layer, layer_seed(seed, draw, depth))
                compare("independent")
                layer.load_state_dict(trained[name])

    def per_draw(mode: str, which: int) -> torch.Tensor:
        return torch.stack([pair[which] for pair in similarities[mode]]).view(draws, len(found.layers), len(targets)).cpu()

    return RandomisationScores(
        layers=found.layers,
        skipped=found.skipped,
        targets=targets.cpu(),
        spearman_per_draw={mode: per_draw(mode, 0) for mode in MODES},
        ssim_per_draw={mode: per_draw(mode, 1) for mode in MODES},
    )


def fails_randomisation_check(full_randomisation_spearman: torch.Tensor | float, threshold: float = FAILURE_THRESHOLD) -> bool:
    """True when the mean Spearman correlation between the trained network's maps and the fully
    randomised network's maps (per image, or already a mean) exceeds ``threshold``: the method
    "fails the model-randomisation check". NaN values (constant maps) are left out of the mean;
    if all are NaN the randomised maps carry no ranking of the original, and the check is passed."""
    values = torch.as_tensor(full_randomisation_spearman, dtype=torch.float64).flatten()
    mean = values.nanmean()
    return bool(mean > threshold) if not torch.isnan(mean) else False
