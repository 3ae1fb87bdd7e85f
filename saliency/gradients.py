"""Shared piece of the input-attribution explainers (gradients, DeepLift, IG, Shapley): a
captum ``Attribution`` of the raw input [B, 3, H, W], reduced to a map [B, H, W] in image
pixels; ``smoothgrad`` and ``vargrad`` wrap any of them in captum's ``NoiseTunnel``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from captum.attr import Attribution, NoiseTunnel
from torch import nn

from ferlens.saliency.base import Explainer
from ferlens.user_errors import UserError


@contextlib.contextmanager
def out_of_place_activations(model: nn.Module) -> Iterator[None]:
    """Within the block every module with an ``inplace`` flag (ReLU, ...) computes out of
    place: captum's backward hooks (guided backprop, DeepLift) refuse in-place outputs."""
    changed = [module for module in model.modules() if getattr(module, "inplace", False) is True]
    for module in changed:
        module.inplace = False
    try:
        yield
    finally:
        for module in changed:
            module.inplace = True


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """torch's and numpy's global generators seeded with ``seed`` within the block (captum
    draws from both: GradientSHAP's path points and baselines from numpy), their previous
    states restored after."""
    state = np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            np.random.seed(seed)
            yield
    finally:
        np.random.set_state(state)


class InputAttribution(Explainer):
    """Base: ``attribution(model).attribute(images, **arguments(images, targets))`` -> [B, 3, H, W],
    then ``reduce``. Default reduction: the channel sum's positive part (evidence for the target;
    methods whose attributions are signed document it)."""

    def attribution(self, model: nn.Module) -> Attribution:
        raise NotImplementedError

    def arguments(self, images: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        """Keyword arguments of captum's ``attribute`` besides the inputs."""
        return {"target": targets.tolist()}

    def reduce(self, attributions: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] attributions -> [B, H, W] non-negative map."""
        return attributions.sum(dim=1).clamp(min=0)

    def input_attributions(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] captum attributions (gradients enabled, as ``__call__`` provides)."""
        with out_of_place_activations(model):
            return self.attribution(model).attribute(images, **self.arguments(images, targets))

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.input_attributions(model, images, targets).detach())


class NoisyAttribution(InputAttribution):
    """``base`` (an input-attribution method's name, with ``base_params``) under captum's
    ``NoiseTunnel``: ``samples`` copies of each image with Gaussian noise of standard deviation
    ``stdev`` (raw pixels, so the fraction of the [0, 1] range; Smilkov et al. use 0.15),
    ``batch_size`` noisy copies per evaluation, noise drawn from ``seed``; reduced as ``base``."""

    nt_type: str

    def __init__(
        self, base: str = "saliency", base_params: dict[str, Any] | None = None, samples: int = 16, stdev: float = 0.15, batch_size: int = 16, seed: int = 0
    ) -> None:
        self.base = base
        self.base_params = base_params
        self.samples = samples
        self.stdev = stdev
        self.batch_size = batch_size
        self.seed = seed

    def base_method(self) -> InputAttribution:
        from ferlens.saliency import EXPLAINERS, build_explainer  # the registry imports this module

        bases = sorted(name for name, cls in EXPLAINERS.items() if issubclass(cls, InputAttribution) and not issubclass(cls, NoisyAttribution))
        if self.base not in bases:
            raise UserError(f"{self.name}'s base '{self.base}' is not an input-attribution method: choose one of {', '.join(bases)}.")
        return build_explainer(self.base, **(self.base_params or {}))  # type: ignore[return-value]

    def attribution(self, model: nn.Module) -> Attribution:
        return NoiseTunnel(self.base_method().attribution(model))

    def arguments(self, images: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        noise = {"nt_type": self.nt_type, "nt_samples": self.samples, "nt_samples_batch_size": self.batch_size, "stdevs": self.stdev}
        return self.base_method().arguments(images, targets) | noise

    def reduce(self, attributions: torch.Tensor) -> torch.Tensor:
        return self.base_method().reduce(attributions)

    def input_attributions(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        with seeded(self.seed):
            return super().input_attributions(model, images, targets)
