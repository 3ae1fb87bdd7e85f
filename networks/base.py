"""Base of the networks of ``build_network``: raw images in, their own normalization first."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ferlens.networks.data_config import DataConfig, check_input_size, make_data_config
from ferlens.user_errors import UserError


class Network(nn.Module):
    """Raw RGB images [B, 3, S, S] in [0, 1] -> logits [B, num_classes]; ``forward`` starts with
    ``normalize``. ``data_config`` describes the input, ``cam_layer`` names the last spatial
    feature map. Subclasses declare their defaults: ``default_input_size`` (pixels) and
    ``fixed_input_size`` (True: a flatten + dense head sized for that input)."""

    default_input_size: int
    fixed_input_size = False
    cam_layer: str

    def __init__(self, data_config: DataConfig) -> None:
        super().__init__()
        self.data_config = data_config
        # not persistent: state dicts and weight files hold only what is trained
        self.register_buffer("input_mean", torch.tensor(data_config.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(data_config.std).view(1, 3, 1, 1), persistent=False)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Raw RGB [B, 3, H, W] in [0, 1] -> (x - mean) / std per channel."""
        return (images - self.input_mean) / self.input_std

    @classmethod
    def resolve_data_config(cls, name: str, input_size: int | None, normalization: str | None, settings: dict[str, Any]) -> DataConfig:
        """The data config of registry network ``name`` (None: its default, ``unit`` normalization);
        ``settings`` (its ``model.net.*`` keys) do not change the input."""
        size = cls.default_input_size if input_size is None else input_size
        if cls.fixed_input_size and size != cls.default_input_size:
            raise UserError(
                f"{name} takes only {cls.default_input_size}x{cls.default_input_size} images (its flatten + dense head is sized for them): "
                f"set model.input_size={cls.default_input_size} or null."
            )
        return make_data_config(name, check_input_size(name, size), normalization or "unit", cls.fixed_input_size)
