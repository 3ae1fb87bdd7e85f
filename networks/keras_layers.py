"""Keras-equivalent layers for the study's custom networks (TensorFlow 'same' padding).

Keras 'same' pads ``max((ceil(n/s) - 1) * s + k - n, 0)`` pixels per axis, the smaller half
before; max pooling ignores the padding. PyTorch's ``padding="same"`` only covers stride 1
convolutions, hence these modules.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.networks.base import Network
from ferlens.networks.data_config import DataConfig


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one axis of ``size`` pixels, as TensorFlow's 'same'."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad(x: torch.Tensor, kernel: int, stride: int, value: float) -> torch.Tensor:
    top, bottom = same_padding(x.shape[-2], kernel, stride)
    left, right = same_padding(x.shape[-1], kernel, stride)
    return F.pad(x, (left, right, top, bottom), value=value)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'same' padding for any stride: [B, C, H, W] -> [B, O, ceil(H/s), ceil(W/s)]."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_pad(x, self.kernel_size[0], self.stride[0], 0.0))


class SameMaxPool2d(nn.Module):
    """Max pooling with TensorFlow 'same' padding: [B, C, H, W] -> [B, C, ceil(H/s), ceil(W/s)]."""

    def __init__(self, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(_pad(x, self.kernel_size, self.stride, float("-inf")), self.kernel_size, self.stride)


def glorot_uniform_(module: nn.Module) -> None:
    """Keras' default initialisation (Glorot uniform weights, zero biases) for conv/linear layers."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


def conv_relu(index: int, in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> list[tuple[str, nn.Module]]:
    """Named ``conv<i>`` ('same') + ``relu<i>`` pair for an ``nn.Sequential`` OrderedDict."""
    return [(f"conv{index}", SameConv2d(in_channels, out_channels, kernel, stride)), (f"relu{index}", nn.ReLU(inplace=True))]


def pool(index: int, kernel: int, stride: int) -> list[tuple[str, nn.Module]]:
    """Named ``pool<i>`` ('same' max pooling)."""
    return [(f"pool{index}", SameMaxPool2d(kernel, stride))]


class KerasStyleNet(Network):
    """``normalize`` -> ``features`` (named conv/pool stack) -> flatten -> ``classifier``; logits out.

    Subclasses set ``default_input_size`` (the only size their dense head takes) and
    ``cam_layer`` (a name inside ``features``)."""

    fixed_input_size = True

    def __init__(self, data_config: DataConfig, features: list[tuple[str, nn.Module]], classifier: list[nn.Module]) -> None:
        super().__init__(data_config)
        self.features = nn.Sequential(OrderedDict(features))
        self.classifier = nn.Sequential(nn.Flatten(), *classifier)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Raw RGB [B, 3, S, S] in [0, 1] -> logits [B, num_classes]."""
        return self.classifier(self.features(self.normalize(images)))
