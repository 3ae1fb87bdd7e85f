import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from ferlens import saliency
from ferlens.evaluation.faithfulness.curves import deletion_insertion
from ferlens.evaluation.randomisation.mprt import model_parameter_randomisation
from ferlens.networks.registry import build_network
from ferlens.saliency import EXPLAINERS, UnknownExplainerError, available_explainers, build_explainer, register_explainer
from ferlens.saliency.base import Explainer
from ferlens.saliency.gradcampp import GradCAMPlusPlus
from ferlens.saliency.lime import Lime
from ferlens.saliency.transformers import NoAttentionError
from tests.saliency.tiny import TinyCNN

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "saliency"
#: Every registered method, by family.
METHODS = [
    *["gradcam", "gradcampp", "layercam", "hirescam", "xgradcam", "gradcam_elementwise", "scorecam", "ablationcam", "eigencam", "eigengradcam"],
    *["fullgrad", "random_cam", "attention"],
    *["saliency", "inputxgradient", "guided_backprop", "guided_gradcam", "deeplift", "smoothgrad", "vargrad", "ig"],
    *["gradientshap", "kernelshap", "shapley_sampling", "occlusion", "lime", "rise", "extremal"],
    *["attention_rollout", "chefer"],
]
#: Methods reading self-attention: refused on the other families.
TRANSFORMER = {"attention_rollout", "chefer"}


def _hand_written_gradcam(model: TinyCNN, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    stored = {}
    handle = model.features[3].register_forward_hook(lambda m, i, o: stored.update(a=o))
    scores = model(images)
    handle.remove()
    grads = torch.autograd.grad(scores[torch.arange(len(targets)), targets].sum(), stored["a"])[0]
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * stored["a"]).sum(dim=1, keepdim=True))
    return torch.nn.functional.interpolate(cam, size=images.shape[-2:], mode="bilinear", align_corners=False)[:, 0]


def test_gradcam_equals_a_hand_written_hook_implementation():
    model = TinyCNN().eval()
    images, targets = torch.rand(4, 3, 32, 32), torch.tensor([0, 2, 5, 1])
    ours = build_explainer("gradcam")(model, images, targets)
    expected = _hand_written_gradcam(model, images, targets).detach()
    assert expected.amax() > 0
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-5, atol=1e-7)


def test_explainers_work_under_inference_mode_and_restore_the_mode():
    model = TinyCNN().train()
    images, targets = torch.rand(2, 3, 32, 32), torch.tensor([1, 2])
    with torch.inference_mode():
        maps = build_explainer("gradcampp")(model, images, targets)
    assert maps.shape == (2, 32, 32) and model.training and not maps.requires_grad
    assert torch.allclose(maps, build_explainer("gradcampp")(model.eval(), images, targets))  # explained in eval mode (no dropout/BN updates)


def test_the_registry_builds_every_method_by_name_with_its_parameters():
    assert available_explainers() == sorted(METHODS)
    assert all(cls.name == name and issubclass(cls, Explainer) for name, cls in EXPLAINERS.items())
    lime = build_explainer(**{"name": "lime", "num_samples": 12, "seed": 5})  # as GlobalSaliency calls it, with a saliency config
    assert isinstance(lime, Lime) and lime.name == "lime" and vars(lime)["num_samples"] == 12 and vars(lime)["seed"] == 5
    assert isinstance(build_explainer("gradcampp"), GradCAMPlusPlus) and vars(build_explainer("gradcampp")) == {}


def test_register_explainer_adds_a_method(monkeypatch):
    monkeypatch.setattr(saliency, "EXPLAINERS", dict(EXPLAINERS))

    @register_explainer("centre")
    class Centre(Explainer):
        def __init__(self, radius: int = 1) -> None:
            self.radius = radius

        def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            return torch.ones(images.shape[0], *images.shape[-2:])

    assert "centre" in saliency.available_explainers() and "centre" not in EXPLAINERS
    explainer = saliency.build_explainer("centre", radius=3)
    assert explainer.name == "centre" and explainer.radius == 3 and explainer(TinyCNN(), torch.rand(1, 3, 8, 8), torch.tensor([0])).shape == (1, 8, 8)


def test_unknown_method_or_parameter_is_one_sentence():
    methods = ", ".join(sorted(METHODS))
    with pytest.raises(UnknownExplainerError, match=rf"^Unknown saliency method 'shap': choose one of {methods}\.$"):
        build_explainer("shap")
    parameters = "steps, baseline, internal_batch_size; fix the saliency config"
    with pytest.raises(UnknownExplainerError, match=rf"^Saliency method 'ig' has no parameter step: its parameters are {parameters}\.$"):
        build_explainer("ig", step=3)
    with pytest.raises(UnknownExplainerError, match=r"^Saliency method 'gradcam' has no parameter steps: its parameters are none; fix the saliency config\.$"):
        build_explainer("gradcam", steps=3)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda path: path.stem)
def test_every_saliency_config_builds_its_explainer(path):
    config = OmegaConf.to_container(OmegaConf.create({"seed": 7, "method": OmegaConf.load(path)}), resolve=True)["method"]
    explainer = build_explainer(**config)
    assert explainer.name == path.stem and vars(explainer) == {key: value for key, value in config.items() if key != "name"}


def test_there_is_a_config_for_every_method():
    assert sorted(path.stem for path in CONFIGS.glob("*.yaml")) == available_explainers()


def test_saliency_imports_neither_datamodules_nor_entry_scripts_nor_timm():
    """The explainers read a network's layers (``networks.features``) but load no network
    registry: ``import ferlens.saliency`` loaded timm through ``lightning_modules.networks``."""
    code = (
        "import sys, ferlens.saliency\n"
        "above = {'datamodules', 'train', 'training', 'analyze', 'callbacks', 'analysis', 'lightning_modules'}\n"
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('ferlens.')} & above), 'timm' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "[] False"


#: One small network per family: build_network arguments (input side in pixels: ``input_size``).
FAMILIES = {
    "smallcnn": {"name": "smallcnn", "input_size": 32},  # the default network: BatchNorm, global average pooling
    "weinet": {"name": "weinet", "input_size": 64},  # the study's Keras-style networks: 'same' padding, flatten + dense head (fixed size)
    "mobilenetv3large": {"name": "mobilenetv3large", "input_size": 64},  # a study backbone (timm), hard-swish: negative activations
    "resnet": {"name": "test_resnet", "input_size": 64},  # tiny timm configs of the other backbone families
    "efficientnet": {"name": "test_efficientnet", "input_size": 64},
    "convnext": {"name": "test_convnext", "input_size": 64},
    "vit": {"name": "test_vit", "input_size": 64},  # tokens on the patch grid, self-attention
}
#: Methods with a forward pass per cam_layer channel.
PER_CHANNEL = {"scorecam", "ablationcam"}
QUICK = {
    "lime": {"num_samples": 8, "batch_size": 8},
    "ig": {"steps": 2},
    "occlusion": {"window": 0.5, "stride": 0.5},
    "scorecam": {"batch_size": 256},
    "smoothgrad": {"samples": 2},
    "vargrad": {"samples": 2},
    "gradientshap": {"samples": 2},
    "kernelshap": {"samples": 8, "count": 4},
    "shapley_sampling": {"samples": 1, "count": 4},
    "rise": {"masks": 8},
    "extremal": {"steps": 2},
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_method_gives_finite_non_negative_maps_on_every_network_family(family):
    torch.manual_seed(0)
    model = build_network(num_classes=6, **FAMILIES[family])
    side = FAMILIES[family]["input_size"]
    images = torch.rand(2, 3, side, side)
    for name in available_explainers():
        if family == "mobilenetv3large" and name in PER_CHANNEL:
            continue  # 960 channels: a forward pass each; the tiny timm families cover these methods
        if name in TRANSFORMER and family != "vit":
            with pytest.raises(NoAttentionError):
                build_explainer(name)(model, images, torch.tensor([3, 0]))
            continue
        maps = build_explainer(name, **QUICK.get(name, {}))(model, images, torch.tensor([3, 0]))
        assert maps.shape == (2, side, side) and torch.isfinite(maps).all() and (maps >= 0).all(), name


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_runs_unchanged_through_faithfulness_and_the_randomisation_check(name):
    torch.manual_seed(0)
    model = build_network("test_vit", 6, input_size=32, depth=1) if name in TRANSFORMER else TinyCNN()  # one block: 9 layers to randomise, not 39
    images, targets = torch.rand(2, 3, 32, 32), torch.tensor([1, 4])
    explainer = build_explainer(name, **QUICK.get(name, {}))
    maps = explainer(model, images, targets)
    curves = deletion_insertion(model, images, maps, targets, steps=4)
    assert curves.deletion.shape == curves.insertion.shape == (2, 5) and torch.isfinite(curves.deletion).all() and torch.isfinite(curves.insertion).all()
    scores = model_parameter_randomisation(model, explainer, images, targets, draws=1)
    layers = len(scores.layers)
    assert layers > 0 and all(
        scores.ssim_per_draw[mode].shape == (1, layers, 2) and torch.isfinite(scores.ssim_per_draw[mode]).all() for mode in scores.ssim_per_draw
    )
