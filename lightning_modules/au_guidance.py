"""Study 2's AU guidance: align a network's layer attention with the AU map of each image.

``loss = weight * mean over the chosen layers l of mean over the valid samples of
(1 - cos(vec A_l, vec H_l))``, with ``A_l`` the channel mean of layer l's output (not
normalised) and ``H_l`` the image's AU map resized to ``A_l``'s grid (bilinear,
antialiased) and clamped to the map's own [min, max]. No valid sample: 0.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.networks.features import capture_layers
from ferlens.networks.timm_backbones import to_grid
from ferlens.user_errors import UserError


def layer_attention(output: torch.Tensor, net: nn.Module, image_size: tuple[int, int]) -> torch.Tensor:
    """[B, h, w] channel mean of a layer's output: [B, C, h, w] feature maps, or [B, N, C]
    ViT tokens (the prefix tokens dropped, the patch tokens laid out on their grid)."""
    if output.ndim == 3:
        prefix = getattr(net, "num_prefix_tokens", 0)
        try:
            output = to_grid(output, "NLC", prefix, image_size)
        except ValueError as error:
            raise UserError(f"AU guidance: a layer gives tokens {tuple(output.shape)}, not a grid of patches ({error}): choose another layer.") from error
    elif getattr(net, "layout", "NCHW") == "NHWC" and output.ndim == 4:
        output = output.permute(0, 3, 1, 2)
    if output.ndim != 4:
        raise UserError(f"AU guidance: a layer gives an output of shape {tuple(output.shape)}, not a feature map [B, C, h, w]: choose a convolutional layer.")
    return output.mean(dim=1)


def au_targets(au_maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[B, S, S] AU maps -> [B, h, w] on a layer's grid: bilinear with antialiasing,
    clamped to each map's own [min, max]."""
    resized = F.interpolate(au_maps[:, None].float(), size=size, mode="bilinear", align_corners=False, antialias=True)[:, 0]
    low = au_maps.flatten(1).min(dim=1).values[:, None, None]
    high = au_maps.flatten(1).max(dim=1).values[:, None, None]
    return torch.maximum(torch.minimum(resized, high), low)


def alignment_loss(attention: torch.Tensor, au_maps: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean over valid samples of 1 - cos(vec A, vec H): ``attention`` [B, h, w] (in the
    graph), ``au_maps`` [B, S, S], ``valid`` [B] bool. 0 (still in the graph) when none is valid."""
    if not bool(valid.any()):
        return attention.sum() * 0.0
    targets = au_targets(au_maps[valid], attention.shape[-2:])
    cosine = F.cosine_similarity(attention[valid].flatten(1), targets.flatten(1), dim=1, eps=1e-8)
    return (1.0 - cosine).mean()


class AUGuidance:
    """The AU-alignment term FERModule adds to cross-entropy when ``weight > 0``.

    Args:
        weight: lambda (Study 2: 9 on AffectNet). 0 turns the term off (plain cross-entropy).
        layers: names of the network's modules (``net.get_submodule``); None = its ``cam_layer``.
        warmup_epochs: the weight ramps linearly over this many epochs, reaching ``weight``
            at epoch ``warmup_epochs`` (0-based); 0 = full weight from the first epoch (Study 2).
    """

    def __init__(self, weight: float = 0.0, layers: list[str] | None = None, warmup_epochs: int = 0) -> None:
        if weight < 0 or warmup_epochs < 0:
            raise UserError(f"model.au_guidance needs weight >= 0 and warmup_epochs >= 0 (got {weight} and {warmup_epochs}).")
        self.weight = float(weight)
        self.layers = list(layers) if layers else None
        self.warmup_epochs = int(warmup_epochs)

    @property
    def enabled(self) -> bool:
        return self.weight > 0

    def layer_names(self, net: nn.Module) -> list[str]:
        names = self.layers or [net.cam_layer]
        known = {name for name, _ in net.named_modules()}
        unknown = [name for name in names if name not in known]
        if unknown:
            examples = ", ".join(name for name, _ in list(net.named_modules())[1:8])
            raise UserError(f"model.au_guidance.layers names no module of the network: {', '.join(unknown)} (its modules include {examples}, ...).")
        return names

    def weight_at(self, epoch: int) -> float:
        """The weight in (0-based) ``epoch``."""
        if self.warmup_epochs == 0:
            return self.weight
        return self.weight * min(1.0, (epoch + 1) / (self.warmup_epochs + 1))

    def capture(self, net: nn.Module) -> contextlib.AbstractContextManager[dict[str, torch.Tensor]]:
        """Within the block, ``captured[name]`` is layer ``name``'s output of the latest
        forward pass (in the autograd graph)."""
        return capture_layers(net, {name: name for name in self.layer_names(net)})

    def loss(self, net: nn.Module, captured: dict[str, torch.Tensor], au_maps: torch.Tensor, valid: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
        """The unweighted term: mean over the captured layers of ``alignment_loss``."""
        terms = [alignment_loss(layer_attention(output, net, image_size), au_maps, valid) for output in captured.values()]
        return torch.stack(terms).mean()
