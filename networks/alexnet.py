"""The study's custom AlexNet (not torchvision's): 224x224 input, three 4096-unit dense
layers, 88,718,726 parameters."""

from __future__ import annotations

from torch import nn

from ferlens.networks.data_config import DataConfig
from ferlens.networks.keras_layers import KerasStyleNet, conv_relu, glorot_uniform_, pool
from ferlens.networks.registry import register_network
from ferlens.networks.weights import load_weights


class AlexNet(KerasStyleNet):
    default_input_size = 224
    cam_layer = "features.relu5"

    def __init__(self, num_classes: int, data_config: DataConfig) -> None:
        features = (
            conv_relu(1, 3, 96, 11, stride=4) + pool(1, 3, 2) + conv_relu(2, 96, 256, 5) + pool(2, 3, 2)
            + conv_relu(3, 256, 384, 3) + conv_relu(4, 384, 384, 3) + conv_relu(5, 384, 256, 3) + pool(5, 3, 2)
        )  # fmt: skip
        classifier = [
            nn.Linear(256 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(0.4),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.4),
            nn.Linear(4096, num_classes),
        ]  # fmt: skip
        super().__init__(data_config, features, classifier)
        glorot_uniform_(self)


@register_network("alexnet", AlexNet.resolve_data_config)
def alexnet(num_classes: int, data_config: DataConfig, pretrained: bool = False, weights: str | None = None) -> nn.Module:
    return load_weights(AlexNet(num_classes, data_config), "alexnet", pretrained, weights)
