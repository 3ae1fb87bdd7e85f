"""SongNet (Study 1): four small convs with 3x3/2 max pooling, 224x224 input, 172,678 parameters."""

from __future__ import annotations

from torch import nn

from ferlens.networks.data_config import DataConfig
from ferlens.networks.keras_layers import KerasStyleNet, conv_relu, glorot_uniform_, pool
from ferlens.networks.registry import register_network
from ferlens.networks.weights import load_weights


class SongNet(KerasStyleNet):
    default_input_size = 224
    cam_layer = "features.relu4"

    def __init__(self, num_classes: int, data_config: DataConfig) -> None:
        features = (
            conv_relu(1, 3, 64, 5) + pool(1, 3, 2) + conv_relu(2, 64, 64, 5) + pool(2, 3, 2)
            + conv_relu(3, 64, 32, 3) + pool(3, 3, 2) + [("drop3", nn.Dropout(0.5))]
            + conv_relu(4, 32, 32, 3) + pool(4, 3, 2) + [("drop4", nn.Dropout(0.5))]
        )  # fmt: skip
        super().__init__(data_config, features, [nn.Linear(32 * 14 * 14, num_classes)])
        glorot_uniform_(self)


@register_network("songnet", SongNet.resolve_data_config)
def songnet(num_classes: int, data_config: DataConfig, pretrained: bool = False, weights: str | None = None) -> nn.Module:
    return load_weights(SongNet(num_classes, data_config), "songnet", pretrained, weights)
