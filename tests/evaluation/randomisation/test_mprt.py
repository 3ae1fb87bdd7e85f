"""Model-parameter randomisation: against Quantus' MPRT, the layers of the registry's networks,
the caller's network left alone (the known truth on a trained network: test_sanity_known_truth.py)."""

import copy

import numpy as np
import pytest
import quantus
import torch
import torch.nn.functional as F
from torch import nn

from ferlens.evaluation.randomisation import mprt as randomisation_module
from ferlens.evaluation.randomisation.mprt import (
    FAILURE_THRESHOLD,
    MODES,
    fails_randomisation_check,
    model_parameter_randomisation,
    randomisation_layers,
)
from ferlens.networks.registry import build_network
from ferlens.saliency import build_explainer
from ferlens.user_errors import UserError


def smooth_images(count: int, side: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(count, 3, 8, 8, generator=generator), size=(side, side), mode="bilinear", align_corners=False)


@pytest.fixture(scope="module")
def small_case() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """(random-init smallcnn at 32 px, 4 smooth images, targets)."""
    torch.manual_seed(0)
    return build_network("smallcnn", 6, input_size=32), smooth_images(4, 32, 0), torch.tensor([0, 2, 4, 5])


def quantus_layers(net: nn.Module) -> list[str]:
    """The modules Quantus' MPRT randomises, top-down: every module with reset_parameters, reversed."""
    return [name for name, module in net.named_modules() if hasattr(module, "reset_parameters")][::-1]


@pytest.mark.parametrize("method", ["gradcampp", "attention"])
def test_spearman_equals_quantus_mprt_cascading_and_independent(small_case, method, monkeypatch):
    net, images, targets = small_case
    explainer = build_explainer(method)
    quantus_seed = 41
    # Quantus seeds every layer's reset with seed + 1; ours is given the same seeding, one draw
    monkeypatch.setattr(randomisation_module, "layer_seed", lambda seed, draw, depth: quantus_seed + 1)
    ours = model_parameter_randomisation(net, explainer, images, targets, draws=1)
    assert list(ours.layers) == quantus_layers(net)

    def explain(model, inputs, targets, **_):
        return explainer(model, torch.as_tensor(inputs), torch.as_tensor(targets)).numpy()

    for mode, order in (("cascading", "top_down"), ("independent", "independent")):
        # normalise=False: Quantus' default divides the batch's maps by their maximum in float32, which only
        # rescales them, but reorders values tied within its rounding (Spearman differs by up to 1.1e-6 then)
        metric = quantus.MPRT(layer_order=order, seed=quantus_seed, normalise=False, disable_warnings=True)
        theirs = metric(model=net, x_batch=images.numpy(), y_batch=targets.numpy(), a_batch=None, explain_func=explain, device="cpu")
        assert theirs.pop("original") == pytest.approx([1.0] * len(targets))
        expected = np.array([theirs[name] for name in ours.layers])
        np.testing.assert_allclose(ours.spearman_per_draw[mode][0].numpy(), expected, atol=1e-12)
    assert not torch.equal(ours.spearman["cascading"], ours.spearman["independent"])  # the two modes differ beyond the top layer


def test_layers_are_the_parameterised_modules_top_down_as_quantus_has_them():
    for name, side in (("smallcnn", 32), ("weinet", 64), ("resnet50", 64), ("mobilenetv3large", 64), ("resnet18", 64)):  # resnet18: any timm model
        net = build_network(name, 6, input_size=side)
        found = randomisation_layers(net, torch.rand(1, 3, side, side))
        assert list(found.layers) == quantus_layers(net) and found.skipped == (), name
    layers = randomisation_layers(build_network("smallcnn", 6, input_size=32), torch.rand(1, 3, 32, 32)).layers
    assert layers[0] == "head.3" and layers[-1] == "features.conv1" and len(layers) == 9  # 4 conv + 4 BatchNorm + linear


class Scaled(nn.Module):
    """A parameter of its own but no reset_parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Odd(nn.Module):
    """conv -> Scaled -> GAP -> linear, and an unused linear layer registered before the conv."""

    cam_layer = "conv"

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Linear(3, 3)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.scaled = Scaled()
        self.head = nn.Linear(4, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.scaled(self.conv(x)).mean(dim=(2, 3)))


def test_modules_not_randomised_are_named_and_a_network_without_layers_is_refused():
    found = randomisation_layers(Odd(), torch.rand(1, 3, 8, 8))
    assert found.layers == ("head", "conv")
    assert found.skipped == ("scaled: no reset_parameters()", "unused: not called in the forward pass")
    with pytest.raises(UserError, match="Flatten has no layer to randomise .*: choose a network with conv, linear or norm layers"):
        model_parameter_randomisation(nn.Flatten(), build_explainer("gradcam"), torch.rand(1, 3, 8, 8), torch.tensor([0]))
    with pytest.raises(UserError, match="at least 1 draw, got 0"):
        model_parameter_randomisation(Odd(), build_explainer("gradcam"), torch.rand(1, 3, 8, 8), torch.tensor([0]), draws=0)


def test_the_callers_network_mode_and_rng_are_untouched_even_under_inference_mode(small_case):
    net, images, targets = small_case
    net.train()
    before = copy.deepcopy(net.state_dict())
    rng = torch.get_rng_state()
    with torch.inference_mode():  # as Lightning's validation and test loops run
        scores = model_parameter_randomisation(net, build_explainer("gradcam"), images, targets, draws=2)
    assert net.training and torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(value, before[key]) for key, value in net.state_dict().items())
    assert scores.spearman_per_draw["cascading"].shape == (2, 9, 4) and scores.ssim["independent"].shape == (9, 4)
    net.eval()


def test_each_draw_randomises_the_top_layer_alike_in_both_modes_and_the_records_are_tidy(small_case):
    net, images, targets = small_case
    scores = model_parameter_randomisation(net, build_explainer("gradcampp"), images, targets, seed=3, draws=2)
    for values in (scores.spearman_per_draw, scores.ssim_per_draw):
        assert torch.equal(values["cascading"][:, 0], values["independent"][:, 0])  # depth 1: the same layer, the same weights
        assert not torch.equal(values["cascading"][0], values["cascading"][1])  # two draws, two randomisations
    again = model_parameter_randomisation(net, build_explainer("gradcampp"), images, targets, seed=3, draws=2)
    assert torch.equal(again.spearman_per_draw["cascading"], scores.spearman_per_draw["cascading"])  # the seed fixes everything
    torch.testing.assert_close(scores.spearman["cascading"], scores.spearman_per_draw["cascading"].mean(dim=0))
    records = scores.records()
    assert len(records) == len(MODES) * 2 * 9 * 4
    row = records[-1]
    assert row == {
        "mode": "independent",
        "draw": 1,
        "depth": 9,
        "layer": "features.conv1",
        "image": 3,
        "target": 5,
        "spearman": float(scores.spearman_per_draw["independent"][1, 8, 3]),
        "ssim": float(scores.ssim_per_draw["independent"][1, 8, 3]),
    }


def test_the_failure_flag_is_the_mean_spearman_above_one_half_leaving_constant_maps_out():
    assert FAILURE_THRESHOLD == 0.5
    assert fails_randomisation_check(torch.tensor([0.9, 0.3, float("nan")]))  # mean 0.6
    assert not fails_randomisation_check(torch.tensor([0.6, 0.3, float("nan")]))  # mean 0.45
    assert not fails_randomisation_check(torch.tensor([float("nan")] * 3))  # every randomised map constant
    assert fails_randomisation_check(0.51) and not fails_randomisation_check(0.5)
