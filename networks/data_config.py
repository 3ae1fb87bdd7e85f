"""What a network expects of its input: the one source of truth for input size and normalization.

Every network of ``build_network`` takes raw RGB images [B, 3, S, S] in [0, 1] and normalizes
them itself, ``(x - mean) / std`` per channel, as its first operation; ``net.data_config``
holds S, mean and std, and ``resolve_data_config`` gives the same without building the network.
"""

from __future__ import annotations

from dataclasses import dataclass

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, IMAGENET_INCEPTION_MEAN, IMAGENET_INCEPTION_STD, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

from ferlens.user_errors import UserError

Triple = tuple[float, float, float]

#: Named normalizations: (mean, std) per RGB channel of images in [0, 1].
NORMALIZATIONS: dict[str, tuple[Triple, Triple]] = {
    "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),  # x/255 of 8-bit images, as Study 1
    "imagenet": (IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD),
    "inception": (IMAGENET_INCEPTION_MEAN, IMAGENET_INCEPTION_STD),  # 0.5, 0.5: [-1, 1]
    "clip": (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD),
}
#: The normalization of a timm model's own ``pretrained_cfg`` (named after the entry of
#: ``NORMALIZATIONS`` with the same mean and std when there is one).
TIMM = "timm"
#: Smallest input side (pixels) any network takes; each network may need more.
MIN_INPUT_SIZE = 8


@dataclass(frozen=True)
class DataConfig:
    """A network's input: RGB images [B, 3, input_size, input_size] (pixels) in [0, 1], which the
    network normalizes as (x - mean) / std per channel; ``normalization`` names mean and std.
    ``fixed_input_size``: the built network takes only ``input_size`` (a flatten + dense head,
    a ViT's position embeddings); otherwise any size from ``MIN_INPUT_SIZE`` on."""

    input_size: int
    mean: Triple
    std: Triple
    normalization: str
    fixed_input_size: bool


def check_input_size(network: str, input_size: object) -> int:
    """``input_size`` if it is an integer of at least ``MIN_INPUT_SIZE`` pixels."""
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < MIN_INPUT_SIZE:
        raise UserError(f"{network} cannot take {input_size}x{input_size} images: set model.input_size to an integer of at least {MIN_INPUT_SIZE}, or null.")
    return input_size


def make_data_config(
    network: str, input_size: int, normalization: str, fixed_input_size: bool, timm_mean_std: tuple[Triple, Triple] | None = None
) -> DataConfig:
    """The data config of ``network``: ``normalization`` is a name of ``NORMALIZATIONS`` or, for a
    timm model (``timm_mean_std``: its ``pretrained_cfg`` mean and std), ``timm``."""
    if normalization == TIMM and timm_mean_std is not None:
        mean, std = (tuple(float(v) for v in values) for values in timm_mean_std)
        name = next((n for n, (m, s) in NORMALIZATIONS.items() if (tuple(m), tuple(s)) == (mean, std)), TIMM)
        return DataConfig(input_size, mean, std, name, fixed_input_size)
    if normalization not in NORMALIZATIONS:
        choices = [*NORMALIZATIONS, *([f"{TIMM} (the timm model's own)"] if timm_mean_std is not None else [])]
        raise UserError(f"{network} has no normalization '{normalization}': set model.normalization to {', '.join(choices)} or null (the network's own).")
    mean, std = NORMALIZATIONS[normalization]
    return DataConfig(input_size, tuple(map(float, mean)), tuple(map(float, std)), normalization, fixed_input_size)
