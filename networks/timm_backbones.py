"""Any timm model (CNNs, ViTs, Swin...) adapted as the study's ImageNet backbones: backbone
without its top -> its features as a grid -> global average pooling -> linear layer to the
classes; nothing frozen. The study's eight backbones are registered under their Keras names."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import timm
import torch
from timm.models import PretrainedCfg
from torch import nn

from ferlens.networks.base import Network
from ferlens.networks.data_config import TIMM, DataConfig, check_input_size, make_data_config
from ferlens.networks.hub import hub_offline, hub_unreachable_reason, weights_in_cache
from ferlens.networks.registry import register_network
from ferlens.networks.weights import load_into, read_state_dict
from ferlens.user_errors import UserError

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
#: The study's input side for its backbones, pixels (with ``unit`` normalization).
STUDY_INPUT_SIZE = 224


def _pretrained_cfg(timm_name: str) -> PretrainedCfg:
    return timm.get_pretrained_cfg(timm_name) or PretrainedCfg()  # no cfg: 224, ImageNet mean and std


def timm_data_config(
    timm_name: str,
    name: str,
    input_size: int | None,
    normalization: str | None,
    settings: dict[str, Any],
    default_input_size: int | None = None,
    default_normalization: str = TIMM,
) -> DataConfig:
    """Data config of network ``name``, the timm model ``timm_name``: ``input_size``, else
    ``model.net.img_size``, else ``default_input_size``, else its ``pretrained_cfg`` size;
    ``normalization``, else ``default_normalization`` (``timm``: its ``pretrained_cfg`` mean and
    std). Fixed for ViT-like models (built for the size through ``img_size``) unless built with
    ``dynamic_img_size``."""
    cfg = _pretrained_cfg(timm_name)
    img_size = settings.get("img_size")
    if img_size is not None and input_size is not None and img_size != input_size:
        raise UserError(f"model.input_size={input_size} and model.net.img_size={img_size} disagree: set only model.input_size.")
    size = next(s for s in (input_size, img_size, default_input_size, cfg.input_size[-1]) if s is not None)
    fixed = bool(cfg.fixed_input_size) and not settings.get("dynamic_img_size", False)
    return make_data_config(name, check_input_size(name, size), normalization or default_normalization, fixed, (cfg.mean, cfg.std))


def to_grid(features: torch.Tensor, layout: str, num_prefix_tokens: int, image_size: tuple[int, int]) -> torch.Tensor:
    """``forward_features`` output -> [B, C, h, w]: ``NCHW`` as is, ``NHWC`` (Swin) permuted, ``NLC``
    tokens [B, N, C] (ViT) without the first ``num_prefix_tokens`` (class, register, distillation)
    laid on the patch grid, whose h/w is the image's (H, W) ``image_size`` ratio."""
    if layout == "NCHW":
        return features
    if layout == "NHWC":
        return features.permute(0, 3, 1, 2)
    tokens = features[:, num_prefix_tokens:]
    count = tokens.shape[1]
    height = max(1, round(math.sqrt(count * image_size[0] / image_size[1])))
    if count % height:
        raise ValueError(f"{count} tokens do not fill a grid of the image's aspect ratio {image_size[0]}:{image_size[1]}")
    return tokens.transpose(1, 2).reshape(len(tokens), -1, height, count // height)


class TimmClassifier(Network):
    """``backbone.forward_features`` -> ``to_grid`` -> ``feature_map`` (identity; the CAM layer,
    [B, C, h, w]) -> global average pooling -> ``head`` (linear to the classes)."""

    cam_layer = "feature_map"

    def __init__(
        self, timm_name: str, num_classes: int, data_config: DataConfig, pretrained: bool = False, weights: str | None = None, **settings: Any
    ) -> None:
        """``settings`` go to ``timm.create_model`` (with ``img_size`` for a ViT-like model fed another size than its own)."""
        super().__init__(data_config)
        self.timm_name = timm_name
        if data_config.fixed_input_size and data_config.input_size != _pretrained_cfg(timm_name).input_size[-1]:
            settings.setdefault("img_size", data_config.input_size)
        self.backbone = _create(timm_name, pretrained and not weights, settings)
        features = _drop_unused_top(self.backbone, timm_name, data_config.input_size)
        self.layout = _layout(self.backbone, timm_name, features.shape)
        self.num_prefix_tokens = getattr(self.backbone, "num_prefix_tokens", 0) if self.layout == "NLC" else 0
        try:
            channels = to_grid(features, self.layout, self.num_prefix_tokens, (data_config.input_size, data_config.input_size)).shape[1]
        except ValueError as error:
            raise UserError(
                f"timm model '{timm_name}' gives features {tuple(features.shape)} that are not a grid of patches ({error}): choose another model."
            ) from error
        if weights:
            state = read_state_dict(weights)
            if any(k.startswith("backbone.") for k in state):
                state = {k[len("backbone.") :]: v for k, v in state.items() if k.startswith("backbone.")}
            load_into(self.backbone, state, weights)
        self.feature_map = nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Raw RGB [B, 3, S, S] in [0, 1] -> logits [B, num_classes]."""
        features = self.backbone.forward_features(self.normalize(images))
        grid = self.feature_map(to_grid(features, self.layout, self.num_prefix_tokens, images.shape[-2:]))
        return self.head(self.pool(grid).flatten(1))


def _create(timm_name: str, pretrained: bool, settings: dict[str, Any]) -> nn.Module:
    unreachable = hub_unreachable_reason() if pretrained else None
    if unreachable and not weights_in_cache(_pretrained_cfg(timm_name)):
        raise UserError(_weights_unavailable(timm_name, f"{unreachable} and they are not in the local cache"))  # before building the network
    try:
        with hub_offline(unreachable is not None):  # cached weights load; a missing file fails at once, without retries
            return timm.create_model(timm_name, pretrained=pretrained, num_classes=0, **settings)  # its own global_pool: some ViTs place their final norm by it
    except TypeError as error:
        key, cfg = next((k for k in settings if f"'{k}'" in str(error)), None), _pretrained_cfg(timm_name)
        if key == "img_size" and cfg.fixed_input_size:
            size = cfg.input_size[-1]
            raise UserError(f"timm model '{timm_name}' takes only {size}x{size} images: set model.input_size={size} or null.") from error
        if key is not None:
            raise UserError(
                f"timm model '{timm_name}' does not take model.net.{key}: remove it (model.net keys other than name, pretrained and weights "
                "go to timm.create_model, e.g. drop_path_rate)."
            ) from error
        raise
    except Exception as error:
        if not pretrained:
            raise
        raise UserError(_weights_unavailable(timm_name, type(error).__name__)) from error


def _weights_unavailable(timm_name: str, why: str) -> str:
    return (
        f"Could not fetch the ImageNet weights of '{timm_name}' from the timm/Hugging Face hub ({why}): "
        "set model.net.weights=PATH to a local .safetensors/.pth file of that model, or model.net.pretrained=false to train from scratch "
        "(on a machine without internet, HF_HUB_OFFLINE=1 skips the hub and uses only its cache)."
    )


def _drop_unused_top(backbone: nn.Module, timm_name: str, input_size: int) -> torch.Tensor:
    """Replace the backbone's top-level modules that ``forward_features`` does not use (VGG's
    fully connected ``pre_logits``, MobileNetV3's ``conv_head``...) by identities, so the
    network holds exactly the parameters it trains. Probes with one ``input_size`` image;
    returns its features (detached)."""
    mode = backbone.training
    backbone.eval()
    with torch.enable_grad():
        try:
            features = backbone.forward_features(torch.zeros(1, 3, input_size, input_size))
        except RuntimeError as error:
            raise UserError(
                f"timm model '{timm_name}' cannot take {input_size}x{input_size} images: set model.input_size larger, or null (its own)."
            ) from error
        features.float().mean().backward()
    for name, child in list(backbone.named_children()):
        parameters = list(child.parameters())
        if parameters and all(p.grad is None for p in parameters):
            setattr(backbone, name, nn.Identity())
    backbone.zero_grad(set_to_none=True)
    backbone.train(mode)
    return features.detach()


def _layout(backbone: nn.Module, timm_name: str, shape: torch.Size) -> str:
    """``NCHW``, ``NHWC`` (the model's ``output_fmt``, e.g. Swin) or ``NLC`` (tokens, e.g. ViT)."""
    if len(shape) == 3:
        return "NLC"
    if len(shape) == 4:
        return "NHWC" if str(getattr(backbone, "output_fmt", "NCHW")) == "NHWC" else "NCHW"
    raise UserError(f"timm model '{timm_name}' gives features {tuple(shape)} with no spatial layout: choose a CNN, ViT or Swin-like model.")


for _name, _timm_name in STUDY_BACKBONES.items():
    register_network(_name, partial(timm_data_config, _timm_name, default_input_size=STUDY_INPUT_SIZE, default_normalization="unit"))(
        partial(TimmClassifier, _timm_name)
    )
