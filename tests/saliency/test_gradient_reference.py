"""The gradient and Shapley explainers against captum 0.9 called directly (same baselines,
targets, seeds), and their known values on a linear network.

captum draws its noise, baselines, coalitions and orderings from torch's global generator: the
reference is called after seeding torch and numpy with the explainer's seed, the region
methods one image at a time in batch order, as ours; so the sampling methods are compared
draw for draw, to the same 1e-5 of each map's max as the deterministic ones. On the linear
network f_k(x) = sum W_k x every method has a closed form (input gradient W_k; SmoothGrad's
mean gradient W_k, VarGrad's variance 0; IG, DeepLift, GradientSHAP with a black baseline and
both region Shapley methods give W_k x, summed over each region for the latter).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captum.attr import DeepLift, GradientShap, GuidedBackprop, GuidedGradCam, InputXGradient, KernelShap, NoiseTunnel, Saliency, ShapleyValueSampling
from captum.attr import IntegratedGradients as CaptumIG
from torch import nn

from ferlens.networks.registry import build_network
from ferlens.saliency import build_explainer
from ferlens.saliency.regions import regions

TOLERANCE = 1e-5  # of each map's max
SIDE = 32


def relative_difference(maps: torch.Tensor, reference: torch.Tensor) -> float:
    """max |maps - reference| / max |reference|, worst image of the batch."""
    return float(((maps - reference).abs().amax(dim=(1, 2)) / reference.abs().amax(dim=(1, 2)).clamp(min=1e-12)).max())


def positive_channel_sum(attributions: torch.Tensor) -> torch.Tensor:
    return attributions.sum(dim=1).clamp(min=0)


@pytest.fixture(scope="module", params=["smallcnn", "test_resnet"])
def case(request: pytest.FixtureRequest) -> tuple[nn.Module, nn.Module, torch.Tensor, torch.Tensor]:
    """(network with its in-place ReLUs, the same network computing out of place for captum's
    hooks, 2 smooth raw images, their classes)."""
    torch.manual_seed(0)
    model = build_network(request.param, 6, input_size=SIDE).eval()
    reference = build_network(request.param, 6, input_size=SIDE).eval()
    reference.load_state_dict(model.state_dict())
    for module in reference.modules():
        if getattr(module, "inplace", False):
            module.inplace = False
    images = F.interpolate(torch.rand(2, 3, 8, 8), size=(SIDE, SIDE), mode="bilinear", align_corners=False)
    return model, reference, images, torch.tensor([1, 4])


def captum_maps(method: str, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The map of ``method`` (with the parameters of ``PARAMS``) from captum called directly."""
    target = targets.tolist()
    if method == "saliency":
        return Saliency(model).attribute(images, target=target, abs=True).amax(dim=1)
    if method == "inputxgradient":
        return positive_channel_sum(InputXGradient(model).attribute(images, target=target))
    if method == "guided_backprop":
        return positive_channel_sum(GuidedBackprop(model).attribute(images, target=target))
    if method == "guided_gradcam":
        gradcam = GuidedGradCam(model, model.get_submodule(model.cam_layer))
        return positive_channel_sum(gradcam.attribute(images, target=target, interpolate_mode="bilinear"))
    if method == "deeplift":
        return positive_channel_sum(DeepLift(model).attribute(images, target=target, baselines=0.0))
    if method in ("smoothgrad", "vargrad"):
        seed(3)
        noisy = NoiseTunnel(Saliency(model)).attribute(images, nt_type=method, nt_samples=5, nt_samples_batch_size=2, stdevs=0.15, target=target, abs=True)
        return noisy.amax(dim=1)
    if method == "smoothgrad_ig":
        seed(3)
        noisy = NoiseTunnel(CaptumIG(model)).attribute(
            images, nt_type="smoothgrad", nt_samples=3, nt_samples_batch_size=3, stdevs=0.1, target=target, baselines=0.0, n_steps=4, internal_batch_size=8
        )
        return positive_channel_sum(noisy)
    if method == "gradientshap":
        seed(3)
        baselines = torch.tensor([0.0, 1.0])[:, None, None, None].expand(-1, *images.shape[1:])
        return positive_channel_sum(GradientShap(model).attribute(images, baselines=baselines, n_samples=6, stdevs=0.05, target=target))
    seed(3)
    masks = regions(images, "superpixels", 12)[:, None]
    attribution, samples = (KernelShap(model), 40) if method == "kernelshap" else (ShapleyValueSampling(model), 2)
    values = [
        attribution.attribute(images[b : b + 1], target=t, baselines=0.0, feature_mask=masks[b : b + 1], n_samples=samples, perturbations_per_eval=16)
        for b, t in enumerate(target)
    ]
    return torch.cat(values)[:, 0].clamp(min=0)


def seed(value: int) -> None:
    """torch's and numpy's global seeds (captum draws from both)."""
    torch.manual_seed(value)
    np.random.seed(value)


#: method -> (registered name, parameters): the reference's settings of ``captum_maps``.
PARAMS = {
    "saliency": ("saliency", {}),
    "inputxgradient": ("inputxgradient", {}),
    "guided_backprop": ("guided_backprop", {}),
    "guided_gradcam": ("guided_gradcam", {}),
    "deeplift": ("deeplift", {}),
    "smoothgrad": ("smoothgrad", {"samples": 5, "batch_size": 2, "stdev": 0.15, "seed": 3}),
    "vargrad": ("vargrad", {"samples": 5, "batch_size": 2, "stdev": 0.15, "seed": 3}),
    "smoothgrad_ig": (
        "smoothgrad",
        {"base": "ig", "base_params": {"steps": 4, "internal_batch_size": 8}, "samples": 3, "batch_size": 3, "stdev": 0.1, "seed": 3},
    ),
    "gradientshap": ("gradientshap", {"baselines": (0.0, 1.0), "samples": 6, "stdev": 0.05, "batch_size": 12, "seed": 3}),
    "kernelshap": ("kernelshap", {"count": 12, "samples": 40, "batch_size": 16, "seed": 3}),
    "shapley_sampling": ("shapley_sampling", {"count": 12, "samples": 2, "batch_size": 16, "seed": 3}),
}


@pytest.mark.parametrize("method", list(PARAMS))
def test_gradient_and_shapley_methods_equal_captum(case, method):
    model, reference_model, images, targets = case
    reference = captum_maps(method, reference_model, images, targets).detach()
    assert (reference.flatten(1).amax(dim=1) > 0).all() and (reference.flatten(1).std(dim=1) > 0).all()  # non-trivial maps
    name, params = PARAMS[method]
    in_place = [name for name, module in model.named_modules() if getattr(module, "inplace", False)]
    ours = build_explainer(name, **params)(model, images, targets)
    assert ours.shape == reference.shape and relative_difference(ours, reference) <= TOLERANCE
    assert in_place and in_place == [name for name, module in model.named_modules() if getattr(module, "inplace", False)]  # restored


class Linear(nn.Module):
    """f_k(x) = sum_chw W_k,chw x_chw: every attribution method has a closed form."""

    cam_layer = "grid"

    def __init__(self, side: int = 16) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.grid = nn.Identity()
        self.weights = nn.Parameter(torch.randn(3, 3, side, side))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.einsum("kchw,bchw->bk", self.weights, self.grid(images))


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("saliency", {}, lambda w, x, r: w.abs().amax(dim=1)),
        ("smoothgrad", {"samples": 4, "stdev": 0.3}, lambda w, x, r: w.abs().amax(dim=1)),
        ("vargrad", {"samples": 4, "stdev": 0.3}, lambda w, x, r: torch.zeros_like(x[:, 0])),
        ("inputxgradient", {}, lambda w, x, r: positive_channel_sum(w * x)),
        ("ig", {"steps": 3}, lambda w, x, r: positive_channel_sum(w * x)),
        ("deeplift", {}, lambda w, x, r: positive_channel_sum(w * x)),
        ("gradientshap", {"baselines": (0.0,), "samples": 5}, lambda w, x, r: positive_channel_sum(w * x)),
        ("shapley_sampling", {"regions": "grid", "count": 4, "samples": 1}, lambda w, x, r: region_sums((w * x).sum(dim=1), r).clamp(min=0)),
        ("kernelshap", {"regions": "grid", "count": 4, "samples": 100}, lambda w, x, r: region_sums((w * x).sum(dim=1), r).clamp(min=0)),
    ],
)
def test_known_values_on_a_linear_network(name, params, expected):
    model, targets = Linear(), torch.tensor([2, 0])
    images = torch.rand(2, 3, 16, 16)
    labels = regions(images, "grid", 4)
    ours = build_explainer(name, **params)(model, images, targets)
    truth = expected(model.weights[targets].detach(), images, labels)
    assert torch.allclose(ours, truth, atol=1e-5 * float(truth.abs().max().clamp(min=1))), (name, float((ours - truth).abs().max()))


def region_sums(values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[B, H, W] values summed over each region of ``labels`` [B, H, W], painted on the region."""
    sums = torch.zeros(len(values), int(labels.max()) + 1).scatter_add_(1, labels.flatten(1), values.flatten(1))
    return sums.gather(1, labels.flatten(1)).view_as(values)


def test_a_noisy_method_refuses_a_base_without_input_attributions():
    with pytest.raises(Exception, match=r"^smoothgrad's base 'gradcam' is not an input-attribution method: choose one of deeplift, gradientshap, "):
        build_explainer("smoothgrad", base="gradcam")(Linear(), torch.rand(1, 3, 16, 16), torch.tensor([0]))
