"""SmallCNN: the default network for the synthetic faces (64x64, CPU-friendly)."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ferlens.networks.base import Network
from ferlens.networks.data_config import DataConfig
from ferlens.networks.registry import register_network
from ferlens.networks.weights import load_weights


class SmallCNN(Network):
    """Four 3x3 conv blocks (32-64-128-128, BatchNorm, ReLU, max-pool after the first
    three), global average pooling, dropout, linear head. 64x64 input (any size from 8 on)
    -> 8x8 last feature map (S/8)."""

    default_input_size = 64
    cam_layer = "features.relu4"

    def __init__(self, num_classes: int, data_config: DataConfig, dropout: float = 0.3) -> None:
        super().__init__(data_config)
        widths = [3, 32, 64, 128, 128]
        layers: list[tuple[str, nn.Module]] = []
        for i in range(4):
            layers += [
                (f"conv{i + 1}", nn.Conv2d(widths[i], widths[i + 1], 3, padding=1)),
                (f"bn{i + 1}", nn.BatchNorm2d(widths[i + 1])),
                (f"relu{i + 1}", nn.ReLU(inplace=True)),
            ]
            if i < 3:
                layers.append((f"pool{i + 1}", nn.MaxPool2d(2)))
        self.features = nn.Sequential(OrderedDict(layers))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[-1], num_classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Raw RGB [B, 3, S, S] in [0, 1] -> logits [B, num_classes]."""
        return self.head(self.features(self.normalize(images)))


@register_network("smallcnn", SmallCNN.resolve_data_config)
def smallcnn(num_classes: int, data_config: DataConfig, pretrained: bool = False, weights: str | None = None, dropout: float = 0.3) -> nn.Module:
    return load_weights(SmallCNN(num_classes, data_config, dropout), "smallcnn", pretrained, weights, head="head")
