"""Study 2's ATT-COS / CAM-COS and their Otsu IoU: hand computations, Otsu as skimage's, and
the CAM pass leaving the parameters' gradients alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.filters import threshold_otsu

from ferlens.lightning_modules.au_metrics import AUAlignmentScore, min_max, otsu_masks
from ferlens.lightning_modules.fer_module import FERModule
from ferlens.saliency import build_explainer
from tests.lightning_modules.test_au_guidance import CLASSES, _batch


def test_otsu_masks_match_skimage_on_256_levels():
    generator = torch.Generator().manual_seed(0)
    maps = torch.rand(5, 16, 16, generator=generator) ** torch.arange(1, 6).view(5, 1, 1)  # skewed histograms
    masks = otsu_masks(maps)
    levels = (maps * 255).round().numpy().astype(int)
    for level_map, mask in zip(levels, masks, strict=True):
        counts = np.bincount(level_map.ravel(), minlength=256)
        threshold = threshold_otsu(hist=(counts, np.arange(256)))
        np.testing.assert_array_equal(mask.numpy(), level_map > threshold)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a.ravel() @ b.ravel() / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_scores_are_per_class_means_then_an_unweighted_mean_without_neutral():
    names = ["Anger", "Happiness", "Neutral", "Sadness"]
    metric = AUAlignmentScore(names)
    maps = torch.tensor([[[0.0, 2.0], [4.0, 2.0]], [[1.0, 1.0], [3.0, 1.0]], [[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]], [[1.0, 2.0], [3.0, 4.0]]])
    au_maps = torch.tensor([[[0.0, 1.0], [1.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [1.0, 1.0]]])
    labels = torch.tensor([0, 0, 1, 2, 1])
    valid = torch.tensor([True, True, True, True, False])  # the last one is not counted
    metric.update(maps, au_maps, valid, labels)
    # min-max normalised maps: (0, .5, 1, .5), (0, 0, 1, 0), (1, 0, 0, 0)
    anger = (_cos(np.array([0, 0.5, 1, 0.5]), np.array([0, 1, 1, 0])) + _cos(np.array([0, 0, 1, 0]), np.array([0, 0, 1, 0]))) / 2
    happiness = _cos(np.array([1, 0, 0, 0]), np.array([1, 0, 0, 0]))
    values = metric.compute()
    assert values["cos/Anger"].item() == pytest.approx(anger, abs=1e-6) and values["cos/Happiness"].item() == pytest.approx(happiness)
    assert values["cos"].item() == pytest.approx((anger + happiness) / 2, abs=1e-6)  # Neutral left out, Sadness unseen
    assert torch.isnan(values["cos/Sadness"]) and "cos/Neutral" not in values
    # Otsu IoU. Sample 0, levels (0, 128, 255, 128): splitting after 0 gives the larger
    # between-class variance (1 * 3 * 170.3^2 > 3 * 1 * 169.7^2), so the mask is {1, 2, 3}
    # against the AU's {1, 2}: 2/3. Sample 1: {2} vs {2}: 1. Sample 2: {0} vs {0}: 1.
    assert values["iou"].item() == pytest.approx(((2 / 3 + 1.0) / 2 + 1.0) / 2, abs=1e-6)


def test_validation_scores_att_and_cam_as_computed_by_hand_and_leaves_gradients_alone():
    torch.manual_seed(0)
    batch = _batch(size=64, count=6)
    batch["position"] = torch.arange(6)
    module = FERModule({"name": "smallcnn"}, 6, CLASSES, input_size=64, au_metrics={"cam": "gradcampp", "cam_max_images": 4})
    module.eval()
    with torch.inference_mode():  # as Lightning validates
        module._evaluation_step("val", batch)
    assert all(p.grad is None for p in module.parameters())
    att, cam = module.au_scores["val_att"], module.au_scores["val_cam"]
    assert int(att.count.sum()) == 6 and int(cam.count.sum()) == 4  # CAM-COS on the first 4 images of the split only
    attention = build_explainer("attention")(module.net, batch["image"], batch["label"])
    cams = build_explainer("gradcampp")(module.net, batch["image"][:4], batch["label"][:4])
    for maps, metric, count in ((attention, att, 6), (cams, cam, 4)):
        normalised = min_max(maps).numpy()
        expected = [_cos(normalised[i], batch["au_map"][i].numpy()) for i in range(count)]
        assert metric.cos_sum.numpy() == pytest.approx(np.bincount(batch["label"][:count].numpy(), expected, minlength=6), abs=1e-5)
