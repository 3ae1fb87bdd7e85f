"""One source of truth for a network's input: ``net.data_config`` == ``resolve_data_config``, the
network normalizes raw images itself, and ``input_size`` is honoured or refused."""

from __future__ import annotations

import pytest
import timm
import torch

from ferlens.networks.data_config import NORMALIZATIONS, TIMM, DataConfig, make_data_config
from ferlens.networks.features import capture_features
from ferlens.networks.registry import build_network, resolve_data_config
from ferlens.user_errors import UserError

UNIT, IMAGENET, INCEPTION = ((0.0,) * 3, (1.0,) * 3), NORMALIZATIONS["imagenet"], ((0.5,) * 3, (0.5,) * 3)

#: (name, build arguments, the data config expected)
CASES = [
    ("smallcnn", {}, DataConfig(64, *UNIT, "unit", False)),
    ("smallcnn", {"input_size": 96, "normalization": "imagenet"}, DataConfig(96, *IMAGENET, "imagenet", False)),
    ("weinet", {}, DataConfig(64, *UNIT, "unit", True)),
    ("mobilenetv3large", {"input_size": 96}, DataConfig(96, *UNIT, "unit", False)),  # a study backbone: 'unit' as the study
    ("mobilenetv3large", {"input_size": 96, "normalization": "timm"}, DataConfig(96, *IMAGENET, "imagenet", False)),  # its pretrained_cfg
    ("mobilenetv3_small_050", {}, DataConfig(224, *IMAGENET, "imagenet", False)),  # any timm id: its pretrained_cfg
    ("test_vit", {"input_size": 64}, DataConfig(64, *INCEPTION, "inception", True)),  # a ViT: built for 64 through img_size
]


@pytest.mark.parametrize(("name", "arguments", "expected"), CASES)
def test_resolve_data_config_is_the_built_networks_data_config(name, arguments, expected):
    resolved = resolve_data_config(name, **arguments)
    assert resolved == expected
    net = build_network(name, 6, **arguments)
    assert net.data_config == resolved
    # train.py writes the resolved values back into the config; building from them changes nothing
    assert resolve_data_config(name, input_size=resolved.input_size, normalization=resolved.normalization) == resolved
    size = resolved.input_size
    assert net(torch.rand(2, 3, size, size)).shape == (2, 6)


def test_resolve_data_config_builds_nothing_and_reads_no_weights(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("resolve_data_config built a timm model")

    monkeypatch.setattr(timm, "create_model", refuse)
    assert resolve_data_config("xception") == DataConfig(224, *UNIT, "unit", False)
    assert resolve_data_config("legacy_xception") == DataConfig(299, *INCEPTION, "inception", False)
    assert resolve_data_config("eva02_tiny_patch14_224").normalization == "clip"


def test_a_timm_mean_and_std_with_no_name_is_called_timm_and_resolves_again():
    odd = ((0.1, 0.2, 0.3), (0.4, 0.5, 0.6))
    config = make_data_config("some_vit", 32, TIMM, True, odd)
    assert (config.mean, config.std, config.normalization) == (*odd, TIMM)
    assert make_data_config("some_vit", 32, config.normalization, True, odd) == config


@pytest.mark.parametrize("name", ["smallcnn", "weinet", "mobilenetv3large"])
def test_the_network_normalizes_raw_images_itself(name):
    """The same weights with ``imagenet`` normalization on raw x == with ``unit`` on (x - mean) / std."""
    size = 64 if name != "mobilenetv3large" else 96
    arguments = {"input_size": size} if name != "weinet" else {}
    torch.manual_seed(0)
    unit = build_network(name, 6, **arguments).eval()
    imagenet = build_network(name, 6, normalization="imagenet", **arguments).eval()
    assert "input_mean" not in unit.state_dict()  # non-persistent: weight files do not change
    imagenet.load_state_dict(unit.state_dict())
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in IMAGENET)
    images = torch.rand(2, 3, size, size)
    with torch.no_grad():
        expected = unit((images - mean) / std)
        assert torch.allclose(imagenet(images), expected, atol=1e-5)
        assert not torch.allclose(unit(images), expected, atol=1e-3)  # the normalization matters


@pytest.mark.parametrize(("name", "size"), [("alexnet", 224), ("weinet", 64), ("songnet", 224), ("silnet", 150)])
def test_flatten_dense_networks_refuse_another_input_size_in_one_sentence(name, size):
    message = f"{name} takes only {size}x{size} images \\(its flatten \\+ dense head is sized for them\\): set model.input_size={size} or null\\.$"
    with pytest.raises(UserError, match=message):
        resolve_data_config(name, input_size=size + 32)
    assert resolve_data_config(name, input_size=size).input_size == size


def test_gap_networks_take_other_sizes_and_their_cam_grid_follows():
    for name, size, grid in [("smallcnn", 96, 12), ("mobilenetv3large", 96, 3)]:  # strides 8 and 32
        net = build_network(name, 6, input_size=size)
        with capture_features(net) as captured:
            assert net(torch.rand(1, 3, size, size)).shape == (1, 6)
        assert captured["features"].shape[2:] == (grid, grid), name


def test_unreasonable_sizes_and_unknown_normalizations_are_refused_in_one_sentence():
    with pytest.raises(UserError, match=r"smallcnn cannot take 4x4 images: set model.input_size to an integer of at least 8, or null\.$"):
        resolve_data_config("smallcnn", input_size=4)
    with pytest.raises(UserError, match=r"timm model 'inception_v3' cannot take 32x32 images: set model.input_size larger, or null \(its own\)\.$"):
        build_network("inception_v3", 6, input_size=32)  # passes the cheap check, fails in the probe
    with pytest.raises(UserError, match=r"weinet has no normalization 'timm': set model.normalization to unit, imagenet, inception, clip or null"):
        resolve_data_config("weinet", normalization="timm")
    with pytest.raises(UserError, match=r"resnet18 has no normalization 'imagenett': .*, timm \(the timm model's own\) or null"):
        resolve_data_config("resnet18", normalization="imagenett")
    with pytest.raises(UserError, match=r"smallcnn has no setting 'width': remove model.net.width \(its settings: dropout\)\.$"):
        resolve_data_config("smallcnn", width=3)
