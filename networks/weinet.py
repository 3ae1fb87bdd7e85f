"""WeiNet (Study 1): three 7x7 convs with stride-1 max pooling, 64x64 input, 1,728,230 parameters."""

from __future__ import annotations

from torch import nn

from ferlens.networks.data_config import DataConfig
from ferlens.networks.keras_layers import KerasStyleNet, conv_relu, glorot_uniform_, pool
from ferlens.networks.registry import register_network
from ferlens.networks.weights import load_weights


class WeiNet(KerasStyleNet):
    default_input_size = 64
    cam_layer = "features.relu3"

    def __init__(self, num_classes: int, data_config: DataConfig) -> None:
        features = conv_relu(1, 3, 32, 7) + pool(1, 2, 1) + conv_relu(2, 32, 32, 7) + pool(2, 2, 1) + conv_relu(3, 32, 64, 7) + pool(3, 2, 1)
        super().__init__(data_config, features, [nn.Linear(64 * 64 * 64, num_classes)])
        glorot_uniform_(self)


@register_network("weinet", WeiNet.resolve_data_config)
def weinet(num_classes: int, data_config: DataConfig, pretrained: bool = False, weights: str | None = None) -> nn.Module:
    return load_weights(WeiNet(num_classes, data_config), "weinet", pretrained, weights)
