import numpy as np
import torch
from sklearn.linear_model import Ridge
from sklearn.metrics import pairwise_distances

from ferlens.saliency.lime import Lime, lime_weights, superpixels
from tests.saliency.tiny import TinyCNN


def _lime_package_map(model: torch.nn.Module, image: np.ndarray, segments: np.ndarray, target: int, seed: int) -> np.ndarray:
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
    from ferlens.datamodules.synthetic import SyntheticFaces

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


def test_lime_paints_one_non_negative_value_per_superpixel_and_is_seeded():
    model = TinyCNN().eval()
    lime = Lime(num_samples=200, seed=0)
    images = torch.rand(2, 3, 32, 32)
    maps = lime(model, images, torch.tensor([0, 1]))
    segments = superpixels(images.permute(0, 2, 3, 1).numpy())
    for b in range(2):
        for label in np.unique(segments[b]):
            assert len(np.unique(maps[b].numpy()[segments[b] == label])) == 1
    assert (maps >= 0).all() and maps.amax() > 0
    assert torch.equal(maps, lime(model, images, torch.tensor([0, 1])))
    assert torch.equal(maps[1:], lime(model, images[1:], torch.tensor([1])))  # independent of the batch it is explained in


def test_lime_weights_equal_scikit_learn_ridge_with_the_lime_kernel():
    """Two images padded to 12 columns (the second has 7 superpixels): each row's weights are
    those of Ridge(alpha=1) fitted on its real columns with LIME's sample weights
    sqrt(exp(-d^2 / 0.25^2)), d = cosine distance to the all-on first sample (as the lime
    package computes them, an all-off sample included: d = 1)."""
    rng = np.random.default_rng(0)
    widths, samples = (12, 7), 300
    features = np.zeros((2, samples, 12))
    for b, width in enumerate(widths):
        features[b, :, :width] = rng.integers(0, 2, (samples, width))
        features[b, 0, :width] = 1
        features[b, 1, :width] = 0
    targets = rng.random((2, samples))
    ours = lime_weights(torch.from_numpy(features), torch.from_numpy(targets)).numpy()
    for b, width in enumerate(widths):
        x = features[b, :, :width]
        distances = pairwise_distances(x, x[:1], metric="cosine").ravel()
        kernel = np.sqrt(np.exp(-(distances**2) / 0.25**2))
        assert distances[1] == 1.0 and kernel.min() < 1e-3 < 0.5 < kernel.max() == 1.0
        reference = Ridge(alpha=1.0).fit(x, targets[b], sample_weight=kernel).coef_
        np.testing.assert_allclose(ours[b, :width], reference, rtol=0, atol=1e-10)
        assert np.abs(reference).max() > 1e-3 and (ours[b, width:] == 0).all()
