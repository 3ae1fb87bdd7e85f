import numpy as np
import pytest
import torch
from torch import nn

from lightning_modules.networks import available_networks, build_network
from saliency import EXPLAINERS, build_explainer
from saliency.lime import Lime, superpixels
from user_errors import UserError


class TinyCNN(nn.Module):
    """conv-relu-conv-relu -> GAP -> linear; ``cam_layer`` = the second ReLU."""

    input_size = 32
    normalization = "unit"
    cam_layer = "features.3"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


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
    np.testing.assert_allclose(ours.numpy(), _hand_written_gradcam(model, images, targets).detach().numpy(), rtol=1e-5, atol=1e-7)


def test_explainers_work_under_inference_mode_and_restore_the_mode():
    model = TinyCNN().train()
    with torch.inference_mode():
        maps = build_explainer("gradcampp")(model, torch.rand(2, 3, 32, 32), torch.tensor([1, 2]))
    assert maps.shape == (2, 32, 32) and model.training and not maps.requires_grad


def _lime_package_map(model: nn.Module, image: np.ndarray, segments: np.ndarray, target: int, seed: int) -> np.ndarray:
    from lime.lime_image import LimeImageExplainer

    def classify(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(batch).permute(0, 3, 1, 2).float()).softmax(dim=1).numpy()

    explanation = LimeImageExplainer(kernel_width=0.25, random_state=seed).explain_instance(
        image, classify, labels=(target,), top_labels=None, hide_color=0, num_samples=1000, batch_size=250, segmentation_fn=lambda _: segments, random_seed=seed
    )
    weights = dict(explanation.local_exp[target])
    return np.clip(np.vectorize(lambda s: weights.get(s, 0.0))(segments), 0, None)


def test_lime_agrees_with_the_lime_package_as_well_as_the_package_with_itself():
    from datamodules.synthetic import SyntheticFaces

    model = TinyCNN().eval()
    faces = SyntheticFaces(10, 5, 32, seed=1)
    images = np.stack([faces[i].image for i in range(10)]).astype(np.float64) / 255.0
    segments = superpixels(images)
    tensors = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    targets = model(tensors).argmax(dim=1)
    ours = Lime(seed=3)(model, tensors, targets).numpy()
    ours_vs_package, package_vs_itself = [], []
    for i in range(10):
        first = _lime_package_map(model, images[i], segments[i], int(targets[i]), seed=1)
        second = _lime_package_map(model, images[i], segments[i], int(targets[i]), seed=2)
        package_vs_itself.append(np.corrcoef(first.ravel(), second.ravel())[0, 1])
        ours_vs_package.append(np.corrcoef(ours[i].ravel(), first.ravel())[0, 1])
    assert np.nanmean(ours_vs_package) >= np.nanmean(package_vs_itself) - 0.05


def test_lime_superpixels_and_settings():
    model = TinyCNN().eval()
    lime = Lime(num_samples=200, seed=0)
    images = torch.rand(2, 3, 32, 32)
    maps = lime(model, images, torch.tensor([0, 1]))
    segments = superpixels(images.permute(0, 2, 3, 1).numpy())
    for b in range(2):  # one value per superpixel, never negative
        for label in np.unique(segments[b]):
            assert len(np.unique(maps[b].numpy()[segments[b] == label])) == 1
    assert (maps >= 0).all()
    assert torch.equal(maps, lime(model, images, torch.tensor([0, 1])))  # seeded


@pytest.mark.slow
@pytest.mark.parametrize("network", available_networks())
def test_every_method_works_on_every_network(network):
    model = build_network(network, 6)
    images = torch.rand(1, 3, model.input_size, model.input_size)
    quick = {"lime": {"num_samples": 24, "batch_size": 24}, "ig": {"steps": 2}, "occlusion": {"window": 0.5, "stride": 0.5}}
    for name in EXPLAINERS:
        maps = build_explainer(name, **quick.get(name, {}))(model, images, torch.tensor([3]))
        assert maps.shape == (1, model.input_size, model.input_size) and torch.isfinite(maps).all(), name


def test_unknown_method_is_one_sentence():
    with pytest.raises(UserError, match="Unknown saliency method 'shap': choose one of lime, gradcam"):
        build_explainer("shap")
