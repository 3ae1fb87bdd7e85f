"""Explainers work in raw image space: whatever the network's normalization (which the
network applies itself), LIME hides superpixels of the raw image with 0, Integrated Gradients
integrates from a 0 image and Occlusion patches with 0. The network's forward is hooked to
see exactly what each explainer feeds it."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ferlens.networks.registry import build_network
from ferlens.saliency.ig import IntegratedGradients
from ferlens.saliency.lime import Lime, superpixels
from ferlens.saliency.occlusion import Occlusion


@pytest.fixture(params=["unit", "imagenet"])
def recorded(request: pytest.FixtureRequest) -> tuple[nn.Module, list[torch.Tensor]]:
    """(smallcnn normalizing its input with ``unit`` or ``imagenet`` statistics, the list of
    the inputs its forward receives)."""
    torch.manual_seed(0)
    model = build_network("smallcnn", 6, normalization=request.param).eval()
    fed: list[torch.Tensor] = []
    model.register_forward_pre_hook(lambda _module, args: fed.append(args[0].detach().clone()))
    return model, fed


def raw_images(count: int, side: int = 64) -> torch.Tensor:
    """[count, 3, side, side] smooth raw RGB images in [0.05, 0.95]: no pixel is 0, so a 0
    in a network input can only come from the explainer."""
    generator = torch.Generator().manual_seed(1)
    return 0.05 + 0.9 * F.interpolate(torch.rand(count, 3, 8, 8, generator=generator), size=(side, side), mode="bilinear", align_corners=False)


def test_lime_hides_superpixels_of_the_raw_image_with_zero(recorded):
    model, fed = recorded
    images = raw_images(2)
    Lime(num_samples=16, batch_size=8)(model, images, torch.tensor([0, 3]))
    segments = superpixels(images.permute(0, 2, 3, 1).numpy())
    perturbed = torch.cat(fed).view(2, 16, 3, 64, 64)  # image by image, 16 samples each
    hidden = 0
    for b in range(2):
        assert torch.equal(perturbed[b, 0], images[b])  # the first sample keeps every superpixel
        for sample in perturbed[b]:
            for label in np.unique(segments[b]):
                region, original = sample[:, torch.from_numpy(segments[b] == label)], images[b][:, torch.from_numpy(segments[b] == label)]
                assert torch.equal(region, original) or (region == 0).all()  # each superpixel whole: shown as is or black
                hidden += int((region == 0).all())
    assert 0.3 < hidden / (2 * 16 * len(np.unique(segments[0]))) < 0.7  # about half hidden


def test_integrated_gradients_integrate_from_a_zero_image(recorded):
    model, fed = recorded
    image = raw_images(1)
    IntegratedGradients(steps=5)(model, image, torch.tensor([2]))
    path = torch.cat(fed)
    scales = (path * image).flatten(1).sum(dim=1) / (image * image).sum()  # path = baseline + a (image - baseline)
    torch.testing.assert_close(path, scales.view(-1, 1, 1, 1) * image, rtol=0, atol=1e-6)  # = a image: the baseline is 0
    nodes = (np.polynomial.legendre.leggauss(5)[0] + 1) / 2  # Gauss-Legendre points on [0, 1]
    np.testing.assert_allclose(np.sort(scales.numpy()), nodes, atol=1e-6)


def test_occlusion_patches_are_zero(recorded):
    model, fed = recorded
    image = raw_images(1)[0]
    Occlusion(window=0.25, stride=0.25)(model, image[None], torch.tensor([2]))
    inputs = torch.cat(fed)
    assert torch.equal(inputs[0], image)  # the unoccluded score first
    patches = set()
    for occluded in inputs[1:]:
        changed = (occluded != image).any(dim=0)
        rows, columns = changed.nonzero(as_tuple=True)
        top, left = int(rows.min()), int(columns.min())
        assert changed.sum() == 16 * 16 and changed[top : top + 16, left : left + 16].all() and (occluded[:, changed] == 0).all()
        patches.add((top, left))
    assert len(inputs) == 17 and patches == {(top, left) for top in range(0, 64, 16) for left in range(0, 64, 16)}
