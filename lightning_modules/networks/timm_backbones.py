"""ImageNet backbones through timm, adapted as in Study 1: backbone without its top ->
global average pooling -> linear layer to the classes; nothing frozen."""

from __future__ import annotations

import timm
import torch
from torch import nn

from lightning_modules.networks import register_network
from lightning_modules.networks.weights import load_into, read_state_dict
from user_errors import UserError

#: The study's eight Keras backbones and their timm equivalents.
STUDY_BACKBONES = {
    "vgg16": "vgg16",
    "vgg19": "vgg19",
    "resnet50": "resnet50",
    "resnet101v2": "resnetv2_101",  # pre-activation ResNet v2
    "inceptionv3": "inception_v3",
    "xception": "legacy_xception",  # the Keras Xception, ported
    "mobilenetv3large": "mobilenetv3_large_100",
    "efficientnetv2b0": "tf_efficientnetv2_b0",
}


class TimmClassifier(nn.Module):
    """``backbone.forward_features`` -> ``feature_map`` (identity; the CAM layer, [B, C, h, w])
    -> global average pooling -> ``head`` (linear to the classes)."""

    normalization = "unit"
    cam_layer = "feature_map"

    def __init__(self, timm_name: str, num_classes: int, pretrained: bool = False, weights: str | None = None, input_size: int = 224) -> None:
        super().__init__()
        self.timm_name = timm_name
        self.input_size = input_size
        self.backbone = _create(timm_name, pretrained and not weights)
        channels = _drop_unused_top(self.backbone)
        if weights:
            state = read_state_dict(weights)
            if any(k.startswith("backbone.") for k in state):
                state = {k[len("backbone.") :]: v for k, v in state.items() if k.startswith("backbone.")}
            load_into(self.backbone, state, weights)
        self.feature_map = nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """[B, 3, S, S] -> logits [B, num_classes]."""
        features = self.feature_map(self.backbone.forward_features(images))
        return self.head(self.pool(features).flatten(1))


def _create(timm_name: str, pretrained: bool) -> nn.Module:
    try:
        return timm.create_model(timm_name, pretrained=pretrained, num_classes=0, global_pool="")
    except Exception as error:
        if not pretrained:
            raise
        raise UserError(
            f"Could not fetch the ImageNet weights of '{timm_name}' from the timm/Hugging Face hub ({type(error).__name__}): "
            "set model.net.weights=PATH to a local .safetensors/.pth file of that model, or model.net.pretrained=false to train from scratch."
        ) from error


def _drop_unused_top(backbone: nn.Module) -> int:
    """Replace the backbone's top-level modules that ``forward_features`` does not use (VGG's
    fully connected ``pre_logits``, MobileNetV3's ``conv_head``...) by identities, so the
    network holds exactly the parameters it trains. Returns the feature-map channels."""
    mode = backbone.training
    backbone.eval()
    features = backbone.forward_features(torch.zeros(1, 3, 96, 96))
    features.float().mean().backward()
    for name, child in list(backbone.named_children()):
        parameters = list(child.parameters())
        if parameters and all(p.grad is None for p in parameters):
            setattr(backbone, name, nn.Identity())
    backbone.zero_grad(set_to_none=True)
    backbone.train(mode)
    return features.shape[1]


def _register(name: str, timm_name: str) -> None:
    @register_network(name)
    def build(num_classes: int, pretrained: bool = True, weights: str | None = None) -> nn.Module:
        return TimmClassifier(timm_name, num_classes, pretrained, weights)

    build.__doc__ = f"{name}: timm '{timm_name}' backbone + GAP + linear head."


for _name, _timm_name in STUDY_BACKBONES.items():
    _register(_name, _timm_name)


def timm_network(timm_name: str, num_classes: int, pretrained: bool = False, weights: str | None = None, input_size: int = 224) -> nn.Module:
    """Any timm model id, adapted the same way."""
    return TimmClassifier(timm_name, num_classes, pretrained, weights, input_size)
