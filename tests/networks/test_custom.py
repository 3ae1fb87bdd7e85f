"""A user's own network by ``_target_`` (``networks.custom``): built from a package in a folder
outside the clone, checked on a probe image, every mistake one sentence."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from ferlens.lightning_modules import FERModule
from ferlens.networks.custom import CustomNetwork, build_custom_network, resolve_custom_data_config
from ferlens.networks.features import capture_features
from ferlens.saliency import build_explainer
from ferlens.user_errors import UserError
from tests.user_lab import forget_lab, user_lab


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(user_lab(tmp_path)))
    yield tmp_path
    forget_lab()


def test_a_user_network_is_built_with_the_classes_wrapped_and_normalizes_its_raw_input(lab):
    net = build_custom_network({"_target_": "my_lab.nets.TinyCNN", "cam_layer": "stage3", "width": 8}, 6, input_size=32, normalization="imagenet")
    assert isinstance(net, CustomNetwork) and net.model.head.out_features == 6 and net.model.stage1[0].out_channels == 8
    assert (net.data_config.input_size, net.data_config.normalization, net.cam_layer) == (32, "imagenet", "model.stage3")
    images = torch.rand(2, 3, 32, 32)
    net.eval()
    expected = net.model((images - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
    assert torch.allclose(net(images), expected, atol=1e-5)  # ferlens normalizes the raw [0, 1] input first
    with capture_features(net) as captured:
        net(images)
    assert captured["features"].shape == (2, 8, 4, 4)


def test_the_input_is_read_from_the_class_pretrained_cfg_or_declared_in_the_config(lab):
    own = resolve_custom_data_config({"_target_": "my_lab.nets.TinyViT"}, None, None)
    assert (own.input_size, own.mean, own.std, own.normalization) == (32, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), "inception")  # same values as inception
    assert resolve_custom_data_config({"_target_": "my_lab.nets.TinyViT"}, None, "unit").normalization == "unit"
    assert resolve_custom_data_config({"_target_": "my_lab.nets.TinyCNN"}, 40, None).input_size == 40
    with pytest.raises(UserError, match=r"^my_lab.nets.TinyCNN declares no input size: set model.input_size"):
        resolve_custom_data_config({"_target_": "my_lab.nets.TinyCNN"}, None, None)


def test_a_fer_module_takes_the_net_as_hydras_partial_and_records_plain_data(lab):
    import functools

    import my_lab.nets

    module = FERModule(functools.partial(my_lab.nets.TinyCNN, cam_layer="stage2", cam_prefix_tokens=None), 6, [str(c) for c in range(6)], input_size=24)
    assert module.net.cam_layer == "model.stage2" and module(torch.rand(3, 3, 24, 24)).shape == (3, 6)
    assert module.hparams.net == {"_target_": "my_lab.nets.TinyCNN", "cam_layer": "stage2", "cam_prefix_tokens": None}
    again = FERModule(dict(module.hparams.net), 6, [str(c) for c in range(6)], input_size=24)  # what a checkpoint reloads
    again.load_state_dict(module.state_dict())
    images = torch.rand(2, 3, 24, 24)
    module.eval(), again.eval()
    assert torch.equal(module(images), again(images))


def test_a_tiny_vit_gets_cams_through_a_declared_token_grid(lab):
    refusal = r"^model.net.cam_layer=blocks.0 yields tokens \[1, 17, 32\], not a \[B, C, h, w\] grid: declare model.net.cam_prefix_tokens=1 \(the"
    with pytest.raises(UserError, match=refusal):
        build_custom_network({"_target_": "my_lab.nets.TinyViT", "cam_layer": "blocks.0"}, 6)
    net = build_custom_network({"_target_": "my_lab.nets.TinyViT", "cam_layer": "blocks.0", "cam_prefix_tokens": 1}, 6)
    images, targets = torch.rand(2, 3, 32, 32), torch.tensor([0, 3])
    net.eval()
    plain = net.model(net.normalize(images))
    with capture_features(net) as captured:
        assert torch.allclose(net(images), plain, atol=1e-6)  # the grid round trip changes nothing
    assert captured["features"].shape == (2, 32, 4, 4)
    maps = build_explainer("gradcam")(net, images, targets)
    assert maps.shape == (2, 32, 32) and bool((maps > 0).any())
    with pytest.raises(UserError, match=r"whose tokens after the first 2 do not fill a square grid"):
        build_custom_network({"_target_": "my_lab.nets.TinyViT", "cam_layer": "blocks.0", "cam_prefix_tokens": 2}, 6)


@pytest.mark.parametrize(
    ("net", "classes", "message"),
    [
        ({"_target_": "my_lab.nets.Nope"}, 6, r"^model.net._target_=my_lab.nets.Nope does not import \(AttributeError: .*\): .* on PYTHONPATH"),
        ({"_target_": "elsewhere.Net"}, 6, r"^model.net._target_=elsewhere.Net does not import \(ModuleNotFoundError: No module named 'elsewhere'\)"),
        ({"_target_": "my_lab.bad.not_a_module"}, 6, r"returned a str, not a torch nn.Module"),
        ({"_target_": "my_lab.bad.GridOut", "cam_layer": "conv"}, 6, r"^my_lab.bad.GridOut returns \(1, 6, 32, 32\) for one image, not logits"),
        ({"_target_": "my_lab.nets.TinyCNN", "cam_layer": "stage3", "num_classes": 7}, 6, r"gives 7 logits per image but .* 6 classes \(a, b, c, d, e, f\)"),
        ({"_target_": "my_lab.nets.TinyCNN", "cam_layer": "stage3", "depth": 3}, 6, r"^my_lab.nets.TinyCNN takes no argument 'depth': remove model.net.depth"),
        ({"_target_": "my_lab.nets.TinyCNN"}, 6, r"^my_lab.nets.TinyCNN needs model.net.cam_layer, .*: e.g. one of stage3 \(1, 16, 4, 4\), stage2"),
        ({"_target_": "my_lab.nets.TinyCNN", "cam_layer": "stage4"}, 6, r"^model.net.cam_layer=stage4 is no layer of .*: choose one of stage3 \("),
        ({"_target_": "my_lab.nets.TinyCNN", "cam_layer": "head"}, 6, r"^model.net.cam_layer=head yields \[1, 6\], not a \[B, C, h, w\] grid"),
    ],
)
def test_each_mistake_is_one_sentence(lab, net, classes, message):
    with pytest.raises(UserError, match=message) as refused:
        build_custom_network(net, classes, list("abcdef"), input_size=32)
    assert not re.search(r"\.\s+[A-Z]", str(refused.value)) and "\n" not in str(refused.value)  # one sentence


def test_a_module_without_cam_layer_is_told_what_to_declare():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(UserError, match=r"^The model Sequential has no cam_layer"):
        build_explainer("gradcam")(model, torch.rand(1, 3, 16, 16), torch.tensor([0]))
    model.cam_layer = "0"
    assert build_explainer("gradcam")(model, torch.rand(1, 3, 16, 16), torch.tensor([1])).shape == (1, 16, 16)


def test_a_built_token_model_is_refused_by_the_cams_until_wrapped(lab):
    import my_lab.nets

    from ferlens.networks.custom import wrap_network

    model = my_lab.nets.TinyViT(num_classes=6).eval()
    model.cam_layer = "blocks.0"
    images, targets = torch.rand(2, 3, 32, 32), torch.tensor([1, 2])
    with pytest.raises(UserError, match=r"^The cam_layer blocks.0 of TinyViT yields \[2, 17, 32\], not a \[B, C, h, w\] grid: .*ferlens.wrap_network"):
        build_explainer("gradcampp")(model, images, targets)
    wrapped = wrap_network(model, 6, "blocks.0", cam_prefix_tokens=1)
    assert wrapped.data_config.input_size == 32 and wrapped.data_config.normalization == "inception"  # its pretrained_cfg
    assert build_explainer("gradcampp")(wrapped, images, targets).shape == (2, 32, 32)
