"""The study's twelve networks (+ smallcnn and any timm id) behind build_network."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file
from timm.models import PretrainedCfg

from ferlens.networks import hub
from ferlens.networks.features import capture_features
from ferlens.networks.keras_layers import same_padding
from ferlens.networks.registry import build_network, resolve_data_config
from ferlens.networks.timm_backbones import STUDY_BACKBONES
from ferlens.user_errors import UserError
from tests.conftest import ROOT, SMALL_DATA, run_train

CUSTOM_PARAMETERS = {"alexnet": 88_718_726, "weinet": 1_728_230, "songnet": 172_678, "silnet": 184_852_038}
BACKBONE_PARAMETERS = {
    "vgg16": 14.7e6, "vgg19": 20.0e6, "resnet50": 23.6e6, "resnet101v2": 42.6e6,
    "inceptionv3": 21.8e6, "xception": 20.9e6, "mobilenetv3large": 3.0e6, "efficientnetv2b0": 5.9e6,
}  # fmt: skip
INPUT_SIZES = {"alexnet": 224, "weinet": 64, "songnet": 224, "silnet": 150, **dict.fromkeys(BACKBONE_PARAMETERS, 224)}
SMALL = ["smallcnn", "weinet", "songnet", "mobilenetv3large", "efficientnetv2b0"]
LARGE = [n for n in INPUT_SIZES if n not in SMALL]


def count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("name", list(CUSTOM_PARAMETERS))
def test_custom_networks_have_exactly_the_studys_parameter_count(name):
    assert count(build_network(name, 6)) == CUSTOM_PARAMETERS[name]


@pytest.mark.parametrize("name", list(BACKBONE_PARAMETERS))
def test_backbones_with_head_are_within_2_percent_of_the_study(name):
    assert count(build_network(name, 6)) == pytest.approx(BACKBONE_PARAMETERS[name], rel=0.02)


def test_keras_same_padding():
    assert same_padding(224, 11, 4) == (3, 4)  # AlexNet conv1: 224 -> 56
    assert same_padding(64, 2, 1) == (0, 1)  # WeiNet pools keep 64
    assert same_padding(224, 3, 2) == (0, 1)  # SongNet pools: 224 -> 112


def _network_contract(name: str) -> None:
    torch.manual_seed(0)
    net = build_network(name, 6)
    size = net.data_config.input_size
    assert size == INPUT_SIZES.get(name, 64) and net.data_config.normalization == "unit"  # Study 1: x/255
    assert net.data_config == resolve_data_config(name)
    images, labels = torch.rand(4, 3, size, size), torch.tensor([0, 1, 2, 3])
    with capture_features(net) as captured:
        logits = net(images)
    assert logits.shape == (4, 6)
    features = captured["features"]
    assert features.ndim == 4 and features.shape[0] == 4 and min(features.shape[2:]) > 1

    def loss() -> torch.Tensor:
        torch.manual_seed(1)  # same dropout masks before and after the step
        return torch.nn.functional.cross_entropy(net(images), labels)

    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    before = loss()
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        assert loss().item() < before.item()

    net.eval()
    restored = build_network(name, 6)
    restored.load_state_dict(net.state_dict())
    restored.eval()
    with torch.no_grad():
        assert torch.equal(net(images[:2]), restored(images[:2]))


@pytest.mark.parametrize("name", SMALL)
def test_network_contract(name):
    _network_contract(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", LARGE)
def test_network_contract_large(name):
    _network_contract(name)


def test_any_timm_id_builds_with_the_same_adaptation():
    net = build_network("resnet18", 6, input_size=96)
    assert net.data_config.input_size == 96 and net.data_config.normalization == "imagenet"  # its pretrained_cfg mean and std
    assert net(torch.rand(2, 3, 96, 96)).shape == (2, 6)
    assert count(net) == pytest.approx(11_176_512 + 512 * 6 + 6, rel=1e-6)


def test_local_weights_files_load(tmp_path):
    source = build_network("weinet", 6)
    save_file(source.state_dict(), tmp_path / "weinet.safetensors")
    torch.save({"state_dict": {f"net.{k}": v for k, v in source.state_dict().items()}}, tmp_path / "run.ckpt")
    for path in ("weinet.safetensors", "run.ckpt"):
        loaded = build_network("weinet", 6, weights=str(tmp_path / path))
        assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), source.state_dict().values(), strict=True))
    # a timm ImageNet file (1000-class classifier included) fills the backbone, the head stays ours
    import timm

    imagenet = timm.create_model(STUDY_BACKBONES["mobilenetv3large"], num_classes=1000)
    torch.save(imagenet.state_dict(), tmp_path / "mnv3.pth")
    net = build_network("mobilenetv3large", 7, pretrained=True, weights=str(tmp_path / "mnv3.pth"))
    assert torch.equal(net.backbone.conv_stem.weight, imagenet.conv_stem.weight)
    assert net.head.out_features == 7


def test_weight_errors_are_one_sentence(tmp_path):
    with pytest.raises(UserError, match="Weights file '/no/file.pth' does not exist"):
        build_network("songnet", 6, weights="/no/file.pth")
    torch.save(build_network("smallcnn", 6).state_dict(), tmp_path / "small.pth")
    with pytest.raises(UserError, match="does not fit this network"):
        build_network("weinet", 6, weights=str(tmp_path / "small.pth"))
    (tmp_path / "broken.safetensors").write_bytes(b"garbage")
    with pytest.raises(UserError, match="could not be read"):
        build_network("weinet", 6, weights=str(tmp_path / "broken.safetensors"))
    with pytest.raises(UserError, match="weinet has no ImageNet weights"):
        build_network("weinet", 6, pretrained=True)
    # read with weights_only: a pickled object (here an argparse.Namespace) would run code
    torch.save({"state_dict": build_network("weinet", 6).state_dict(), "args": argparse.Namespace(lr=1)}, tmp_path / "objects.pth")
    with pytest.raises(UserError, match=r"holds Python objects, which are not loaded for safety: save only its tensors, torch.save\(model.state_dict"):
        build_network("weinet", 6, weights=str(tmp_path / "objects.pth"))


def test_unreachable_hub_offers_local_weights_or_no_pretraining(tmp_path):
    result = run_train("model=resnet50", f"hydra.run.dir={tmp_path}", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "Could not fetch the ImageNet weights of 'resnet50'" in result.stderr
    assert "set model.net.weights=PATH" in result.stderr and "model.net.pretrained=false" in result.stderr
    assert "HF_HUB_OFFLINE is set and they are not in the local cache" in result.stderr


def test_an_unreachable_hub_fails_at_once_without_retries(tmp_path):
    """No HF_HUB_OFFLINE, the hub's port closed, an empty cache: one sentence within seconds
    (it took 47 s and 44 retry lines), naming HF_HUB_OFFLINE=1 and the local-weights option."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import ferlens.training"], cwd=ROOT, check=True)
    start_up = time.perf_counter() - started  # torch, Lightning, timm...: what any run imports before it reaches the hub
    started = time.perf_counter()
    hub = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": ""}
    result = run_train("model=vgg16", f"hydra.run.dir={tmp_path}", env=hub)
    seconds = time.perf_counter() - started - start_up
    assert result.returncode != 0 and "Traceback" not in result.stderr and "etry" not in result.stderr, result.stderr[-3000:]
    assert "Could not fetch the ImageNet weights of 'vgg16' from the timm/Hugging Face hub (127.0.0.1:9 is unreachable" in result.stderr
    assert "model.net.weights=PATH" in result.stderr and "HF_HUB_OFFLINE=1" in result.stderr
    assert seconds < 10, f"{seconds:.1f} s beyond the {start_up:.1f} s start-up"


def test_cached_weights_are_found_in_the_hub_cache_torch_hub_or_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr(hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "torch"))
    on_hub, by_url, in_file = (
        PretrainedCfg(hf_hub_id="timm/vgg16.tv_in1k"),
        PretrainedCfg(url="https://example.org/v0.1/xception-43020ad28.pth"),
        PretrainedCfg(file=str(tmp_path / "w.pth")),
    )
    assert not any(hub.weights_in_cache(cfg) for cfg in (on_hub, by_url, in_file))
    _cache_on_hub(tmp_path / "hf", "timm/vgg16.tv_in1k", {"w": torch.zeros(1)})
    (tmp_path / "torch" / "checkpoints").mkdir(parents=True)
    (tmp_path / "torch" / "checkpoints" / "xception-43020ad28.pth").write_bytes(b"weights")
    (tmp_path / "w.pth").write_bytes(b"weights")
    assert all(hub.weights_in_cache(cfg) for cfg in (on_hub, by_url, in_file))


def test_offline_cached_hub_weights_still_load(tmp_path, monkeypatch):
    """The hub unreachable, the weights in the Hugging Face cache: they load, without a retry."""
    reference = timm.create_model("test_resnet.r160_in1k", pretrained=False, num_classes=0)
    _cache_on_hub(tmp_path / "hf", "timm/test_resnet.r160_in1k", {k: v + 1 for k, v in reference.state_dict().items() if v.is_floating_point()})
    monkeypatch.setattr(hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    net = build_network("test_resnet.r160_in1k", 6, pretrained=True, input_size=64)
    weight = net.backbone.state_dict()["conv1.0.weight"]
    assert torch.equal(weight, reference.state_dict()["conv1.0.weight"] + 1)  # the cached file, not a fresh initialisation


def _cache_on_hub(cache: Path, repo_id: str, tensors: dict[str, torch.Tensor]) -> None:
    """A Hugging Face cache entry (refs/main -> snapshot) holding model.safetensors."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "snapshots" / "0123abc").mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(repo / "snapshots" / "0123abc" / "model.safetensors"))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abc")


def test_the_hub_check_honours_hf_hub_offline_and_the_endpoint(monkeypatch):
    monkeypatch.setattr(hub.constants, "HF_HUB_OFFLINE", True)
    assert hub.hub_unreachable_reason() == "HF_HUB_OFFLINE is set"
    with hub.hub_offline(False):
        assert hub.constants.HF_HUB_OFFLINE  # never turns a user's offline setting off
    monkeypatch.setattr(hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    assert hub.hub_unreachable_reason().startswith("127.0.0.1:9 is unreachable")
    with hub.hub_offline(True):
        assert hub.constants.HF_HUB_OFFLINE
    assert not hub.constants.HF_HUB_OFFLINE


@pytest.mark.parametrize("name", ["weinet", "songnet"])
def test_train_py_trains_each_small_network(tmp_path, name):
    result = run_train(
        f"model={name}", *SMALL_DATA, "trainer.max_epochs=1", "trainer.limit_train_batches=2", "data.batch_size=16", "logger=csv", f"hydra.run.dir={tmp_path}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((tmp_path / "checkpoints").glob("epoch*.ckpt"))) == 1
    assert "test/acc" in (tmp_path / "csv" / "metrics.csv").read_text()


def test_train_py_with_any_timm_model(tmp_path):
    result = run_train(
        "model=timm", "model.net.name=mobilenetv3_small_050", "model.net.pretrained=false", "model.input_size=96",
        *SMALL_DATA, "trainer.fast_dev_run=true", f"hydra.run.dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mobilenetv3_small_050 on synthetic" in result.stdout
