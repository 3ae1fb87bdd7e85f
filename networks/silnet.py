"""SilNet (Study 1): five convs and two 512-unit dense layers, 150x150 input, Glorot-normal
initialisation, 184,852,038 parameters."""

from __future__ import annotations

from torch import nn

from ferlens.networks.data_config import DataConfig
from ferlens.networks.keras_layers import KerasStyleNet, conv_relu, pool
from ferlens.networks.registry import register_network
from ferlens.networks.weights import load_weights


class SilNet(KerasStyleNet):
    default_input_size = 150
    cam_layer = "features.relu5"

    def __init__(self, num_classes: int, data_config: DataConfig) -> None:
        features = (
            conv_relu(1, 3, 32, 11) + pool(1, 2, 2) + conv_relu(2, 32, 32, 7) + conv_relu(3, 32, 32, 7) + pool(3, 2, 1)
            + conv_relu(4, 32, 64, 5) + conv_relu(5, 64, 64, 5) + pool(5, 2, 1)
        )  # fmt: skip
        classifier = [
            nn.Linear(64 * 75 * 75, 512),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(512, 512),
            nn.ReLU(inplace=True),
            nn.Linear(512, num_classes),
        ]
        super().__init__(data_config, features, classifier)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d | nn.Linear):
                nn.init.xavier_normal_(layer.weight)
                nn.init.zeros_(layer.bias)


@register_network("silnet", SilNet.resolve_data_config)
def silnet(num_classes: int, data_config: DataConfig, pretrained: bool = False, weights: str | None = None) -> nn.Module:
    return load_weights(SilNet(num_classes, data_config), "silnet", pretrained, weights)
