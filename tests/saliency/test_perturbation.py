"""RISE and extremal perturbations (no captum counterpart): RISE against its definition written
one image at a time and on networks with known maps; extremal perturbations on a planted
region they must find, and batch-independent."""

import torch
import torch.nn.functional as F
from torch import nn

from ferlens.saliency import build_explainer
from ferlens.saliency.extremal import gaussian_blur
from ferlens.saliency.rise import draw_masks, rise_masks
from tests.saliency.tiny import TinyCNN


def test_rise_equals_its_definition_one_image_at_a_time():
    model, images, targets = TinyCNN().eval(), torch.rand(3, 3, 24, 24), torch.tensor([0, 5, 2])
    masks = rise_masks(draw_masks(50, (24, 24), 4, 0.5, seed=7), (24, 24))  # all 50 at once
    assert masks.shape == (50, 24, 24) and 0 <= masks.min() and masks.max() <= 1 + 1e-6
    expected = torch.stack(
        [
            (model(image * masks[:, None]).softmax(dim=1)[:, target, None, None] * masks).sum(dim=0) / (50 * 0.5)
            for image, target in zip(images, targets.tolist(), strict=True)
        ]
    ).detach()
    ours = build_explainer("rise", masks=50, cells=4, probability=0.5, batch_size=16, seed=7)(model, images, targets)  # 16: chunks that do not divide 50
    assert torch.allclose(ours, expected, rtol=1e-5, atol=1e-7)
    assert torch.allclose(
        build_explainer("rise", masks=50, cells=4, batch_size=16, seed=7)(model, images[1:2], targets[1:2]), ours[1:2], atol=1e-7
    )  # batch-independent


class Planted(nn.Module):
    """Logit 1 = ``gain`` x (the mean of the top-left quadrant of the image - ``offset``), logit 0 = 0."""

    def __init__(self, gain: float, offset: float = 0.0) -> None:
        super().__init__()
        self.gain = gain
        self.offset = offset

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        side = images.shape[-1] // 2
        evidence = self.gain * (images[:, :, :side, :side].mean(dim=(1, 2, 3)) - self.offset)
        return torch.stack([torch.zeros_like(evidence), evidence], dim=1)


def test_rise_of_a_constant_network_is_its_probability_and_of_a_planted_region_is_that_region():
    images, masks = torch.full((1, 3, 32, 32), 0.8), 1000
    constant = build_explainer("rise", masks=masks, cells=4, seed=1)(Planted(gain=0.0), images, torch.tensor([1]))
    # p = 1/2 everywhere: map = (1/2) mean_i M_i / 0.5, whose mean over pixels estimates E[M] / 0.5 = 1 with standard error < 0.5 / sqrt(masks)
    assert abs(float(constant.mean()) * 2 - 1) < 4 * 0.5 / masks**0.5
    planted = build_explainer("rise", masks=masks, cells=4, seed=1)(Planted(gain=30.0, offset=0.4), images, torch.tensor([1]))[0]
    inside, outside = planted[:16, :16].mean(), torch.cat([planted[16:].flatten(), planted[:16, 16:].flatten()]).mean()
    assert inside > outside + 0.1  # the probability is high only when the quadrant is mostly kept (p = 1/2 at half of it)


class Texture(nn.Module):
    """Target logit = sum over a square region R of w x with w = sign(x - blur(x)) of one fixed
    image: preserving R's texture raises the logit, blurring it lowers it, nothing else counts."""

    def __init__(self, image: torch.Tensor, region: torch.Tensor, sigma: float) -> None:
        super().__init__()
        self.weights = torch.sign(image - gaussian_blur(image[None], sigma)[0]) * region

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        score = 10 * (self.weights * images).sum(dim=(1, 2, 3)) / self.weights.abs().sum()  # up to a few logit units, as a network's
        return torch.stack([torch.zeros_like(score), score], dim=1)


def test_extremal_perturbation_finds_a_planted_region_of_its_area_and_is_batch_independent():
    torch.manual_seed(0)
    images = torch.rand(2, 3, 32, 32)
    region = torch.zeros(32, 32)
    region[8:24, 8:24] = 1  # a quarter of the image, aligned with the 8 x 8 cells
    parameters = {"areas": (0.25,), "steps": 150, "cells": 8, "sigma": 2 / 32, "learning_rate": 0.2}
    model = Texture(images[0], region, sigma=2.0)
    mask = build_explainer("extremal", **parameters)(model, images[:1], torch.tensor([1]))[0]
    found = mask > 0.5
    assert float((found & region.bool()).sum() / (found | region.bool()).sum()) > 0.8  # intersection over union
    assert abs(float(found.float().mean()) - 0.25) < 0.05  # the area, softly enforced by the regulariser
    both = build_explainer("extremal", **(parameters | {"areas": (0.25, 0.5), "batch_size": 3}))(model, images, torch.tensor([1, 0]))
    alone = build_explainer("extremal", **(parameters | {"areas": (0.25, 0.5)}))(model, images[1:], torch.tensor([0]))
    assert both.shape == (2, 32, 32) and torch.allclose(both[1], alone[0], atol=1e-5)


def test_gaussian_blur_keeps_a_constant_image_and_spreads_a_point_as_a_gaussian():
    constant = torch.full((1, 2, 20, 20), 0.3)
    assert torch.allclose(gaussian_blur(constant, 2.0), constant, atol=1e-6)
    point = torch.zeros(1, 1, 41, 41)
    point[0, 0, 20, 20] = 1
    blurred = gaussian_blur(point, 3.0)[0, 0]
    offsets = torch.arange(-20, 21, dtype=torch.float32)
    expected = torch.exp(-(offsets[:, None] ** 2 + offsets[None] ** 2) / 18)
    expected[(offsets[:, None].abs() > 9) | (offsets[None].abs() > 9)] = 0  # truncated at 3 sigma
    assert torch.allclose(blurred, expected / expected.sum(), atol=1e-6) and F.relu(-blurred).sum() == 0
