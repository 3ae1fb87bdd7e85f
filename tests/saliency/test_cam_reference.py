"""The CAMs against pytorch-grad-cam 1.5.7 (the ``grad-cam`` package).

How the comparison is made: pytorch-grad-cam's own ``__call__`` runs unchanged (its forward
and activation/gradient hooks on the network's ``cam_layer``, ``ClassifierOutputTarget``
logits, backward, ``get_cam_weights``/``get_cam_image``, ReLU, layer aggregation) except
``scale_cam_image``, which it applies twice to min-max scale each map to [0, 1] and resize it
with cv2; that one function is replaced by the identity, so it returns its raw CAM on the
``cam_layer`` grid, which is compared with ours (``layer_maps``) to 1e-5 of each map's max.
``test_the_only_change_to_pytorch_grad_cam_is_its_scaling`` checks that its unpatched output
is its ``scale_cam_image`` applied (twice, as it does) to our raw maps, to 1e-5.

Eigen-CAM and Eigen-Grad-CAM are compared with pytorch-grad-cam's own sign-corrected projection
(``get_2d_projection_with_sign_correction`` in place of ``get_2d_projection``: the SVD's sign
is arbitrary, and ours makes the largest-magnitude value positive); Random-CAM with numpy's
global seed set to the explainer's seed; FullGrad with its final min-max scaling replaced by the
identity (its per-layer scaling is part of the method and kept). Score-CAM, Ablation-CAM and
FullGrad, which cost a forward pass per channel or read every bias layer, are compared on the
study's custom networks only (ReLU ``cam_layer``s, where pytorch-grad-cam ablates to 0 as the paper).
"""

import numpy as np
import pytest
import pytorch_grad_cam
import pytorch_grad_cam.base_cam
import pytorch_grad_cam.eigen_cam
import pytorch_grad_cam.eigen_grad_cam
import pytorch_grad_cam.fullgrad_cam
import torch
import torch.nn.functional as F
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection_with_sign_correction
from torch import nn

from ferlens.networks.registry import build_network
from ferlens.saliency import build_explainer
from ferlens.saliency.cam import activations_and_gradients, upsample

#: network -> input side (pixels): the study's sizes for the custom networks (weinet and songnet
#: have a flatten + linear head, so spatially varying gradients), small ones for the timm backbones.
NETWORKS = {"smallcnn": 64, "weinet": 64, "songnet": 224, "resnet50": 128, "mobilenetv3large": 128}
REFERENCES = {
    "gradcam": pytorch_grad_cam.GradCAM,
    "gradcampp": pytorch_grad_cam.GradCAMPlusPlus,
    "layercam": pytorch_grad_cam.LayerCAM,
    "hirescam": pytorch_grad_cam.HiResCAM,
    "gradcam_elementwise": pytorch_grad_cam.GradCAMElementWise,
    "xgradcam": pytorch_grad_cam.XGradCAM,
    "eigencam": pytorch_grad_cam.EigenCAM,
    "eigengradcam": pytorch_grad_cam.EigenGradCAM,
    "random_cam": pytorch_grad_cam.RandomCAM,
}
#: Methods with a forward pass per channel: compared on the custom networks (``CUSTOM``).
COSTLY = {"scorecam": pytorch_grad_cam.ScoreCAM, "ablationcam": pytorch_grad_cam.AblationCAM}
CUSTOM = ["smallcnn", "weinet"]
#: random_cam's seed, set as numpy's global seed for pytorch-grad-cam (one giving non-zero maps on every network).
RANDOM_SEED = 1
TOLERANCE = 1e-5  # of each map's max


@pytest.fixture(scope="module", params=list(NETWORKS))
def case(request: pytest.FixtureRequest) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """(random-init network in eval mode, 2 smooth raw images in [0, 1], their predicted classes)."""
    torch.manual_seed(0)
    side = NETWORKS[request.param]
    model = build_network(request.param, 6, input_size=side).eval()
    images = F.interpolate(torch.rand(2, 3, 8, 8), size=(side, side), mode="bilinear", align_corners=False)
    with torch.no_grad():
        targets = model(images).argmax(dim=1)
    return model, images, targets


def reference_layer_maps(method: str, model: nn.Module, images: torch.Tensor, targets: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> torch.Tensor:
    """pytorch-grad-cam's [B, h, w] raw CAM on the ``cam_layer`` grid (see the module docstring)."""
    monkeypatch.setattr(pytorch_grad_cam.base_cam, "scale_cam_image", lambda cam, target_size=None: np.float32(cam))
    monkeypatch.setattr(pytorch_grad_cam.eigen_cam, "get_2d_projection", get_2d_projection_with_sign_correction)
    monkeypatch.setattr(pytorch_grad_cam.eigen_grad_cam, "get_2d_projection", get_2d_projection_with_sign_correction)
    np.random.seed(RANDOM_SEED)  # random_cam's weights
    with (REFERENCES | COSTLY)[method](model, [model.get_submodule(model.cam_layer)]) as cam:
        maps = cam(images, [ClassifierOutputTarget(int(t)) for t in targets])
    model.zero_grad(set_to_none=True)
    return torch.from_numpy(maps)


def relative_difference(maps: torch.Tensor, reference: torch.Tensor) -> float:
    """max |maps - reference| / max reference, worst image of the batch (an all-zero reference: the absolute difference / 1e-12)."""
    return float(((maps - reference).abs().amax(dim=(1, 2)) / reference.amax(dim=(1, 2)).clamp(min=1e-12)).max())


@pytest.mark.parametrize("method", list(REFERENCES))
def test_cams_equal_pytorch_grad_cam(case, method, monkeypatch):
    model, images, targets = case
    reference = reference_layer_maps(method, model, images, targets, monkeypatch)
    varied = reference.flatten(1).std(dim=1) > 0  # non-trivial maps (random weights may give an all-zero one)
    assert varied.any() if method == "random_cam" else varied.all()
    explainer = build_explainer(method, **({"seed": RANDOM_SEED} if method == "random_cam" else {}))
    ours = explainer.layer_maps(model, images, targets).detach()
    assert ours.shape == reference.shape and relative_difference(ours, reference) <= TOLERANCE
    in_pixels = explainer(model, images, targets)
    assert relative_difference(in_pixels, upsample(reference, images.shape[-2:])) <= TOLERANCE


@pytest.fixture(scope="module", params=CUSTOM)
def custom_case(request: pytest.FixtureRequest) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """(random-init custom network in eval mode, 2 smooth raw images in [0, 1], their predicted classes)."""
    torch.manual_seed(0)
    model = build_network(request.param, 6, input_size=64).eval()
    images = F.interpolate(torch.rand(2, 3, 8, 8), size=(64, 64), mode="bilinear", align_corners=False)
    with torch.no_grad():
        targets = model(images).argmax(dim=1)
    return model, images, targets


@pytest.mark.parametrize("method", list(COSTLY))
def test_costly_cams_equal_pytorch_grad_cam(custom_case, method, monkeypatch):
    model, images, targets = custom_case
    reference = reference_layer_maps(method, model, images, targets, monkeypatch)
    assert (reference.amax(dim=(1, 2)) > 0).all() and (reference.flatten(1).std(dim=1) > 0).all()
    ours = build_explainer(method, batch_size=48).layer_maps(model, images, targets).detach()  # 48: chunks that do not divide the channels
    assert ours.shape == reference.shape and relative_difference(ours, reference) <= TOLERANCE


def test_fullgrad_equals_pytorch_grad_cam(custom_case, monkeypatch):
    model, images, targets = custom_case
    monkeypatch.setattr(pytorch_grad_cam.fullgrad_cam, "scale_cam_image", lambda cam, target_size=None: np.float32(cam))
    with pytorch_grad_cam.FullGrad(model, []) as cam:
        reference = torch.from_numpy(cam(images, [ClassifierOutputTarget(int(t)) for t in targets]))
    model.zero_grad(set_to_none=True)
    assert (reference.flatten(1).std(dim=1) > 0).all()
    ours = build_explainer("fullgrad")(model, images, targets)
    assert ours.shape == reference.shape and relative_difference(ours, reference) <= TOLERANCE


def test_the_only_change_to_pytorch_grad_cam_is_its_scaling():
    torch.manual_seed(0)
    model = build_network("weinet", 6, input_size=64).eval()
    images, targets = torch.rand(2, 3, 64, 64), torch.tensor([1, 4])
    with pytorch_grad_cam.GradCAMPlusPlus(model, [model.get_submodule(model.cam_layer)]) as cam:
        theirs = cam(images, [ClassifierOutputTarget(int(t)) for t in targets])  # min-max scaled, resized to 64x64
    ours = build_explainer("gradcampp").layer_maps(model, images, targets).detach().numpy()
    np.testing.assert_allclose(theirs, scale_cam_image(scale_cam_image(ours, (64, 64))), atol=1e-5)


def previous_gradcampp(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
    """The formula this code had (sum_ab A_ab g_ab^3 in alpha's denominator), with the same
    zero-denominator treatment as the current one, so only the formula differs."""
    squared = gradients**2
    alpha = squared / (2 * squared + (activations * squared * gradients).sum(dim=(2, 3), keepdim=True) + 1e-6)
    weights = (alpha * F.relu(gradients)).sum(dim=(2, 3), keepdim=True)
    return F.relu((weights * activations).sum(dim=1))


@pytest.mark.parametrize(("network", "side"), [("smallcnn", 64), ("weinet", 64), ("songnet", 224)])
def test_the_previous_gradcampp_formula_was_wrong_where_gradients_vary_over_space(network, side, monkeypatch):
    """sum_ab A_ab g_ab^3 = (sum_ab A_ab) g_ij^3 when g is uniform over space (global average
    pooling: smallcnn), not behind a flatten + linear head (weinet, songnet)."""
    torch.manual_seed(0)
    model = build_network(network, 6, input_size=side).eval()
    images, targets = torch.rand(2, 3, side, side), torch.tensor([1, 4])
    reference = reference_layer_maps("gradcampp", model, images, targets, monkeypatch)
    previous = previous_gradcampp(*activations_and_gradients(model, images, targets))
    assert relative_difference(build_explainer("gradcampp").layer_maps(model, images, targets).detach(), reference) <= TOLERANCE
    if network == "smallcnn":
        assert relative_difference(previous, reference) <= TOLERANCE
    else:
        assert relative_difference(previous, reference) > 0.3
