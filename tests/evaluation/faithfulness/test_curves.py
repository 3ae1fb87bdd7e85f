"""Deletion / insertion and ROAD: against Quantus' PixelFlipping, a plain per-image loop and
pytorch-grad-cam's ROAD (noise 0, the same pixel masks); the known truth on a trained network is
in test_sanity_known_truth.py.

Ties: ours are broken by a seeded random permutation per image, the references' in raster
order. The reference comparisons therefore use maps without ties (``torch.rand``: distinct
values), and the plain loop, whose map has ties, is given our permutation as its tie order."""

import numpy as np
import pytest
import pytorch_grad_cam.metrics.road as grad_cam_road
import quantus
import torch
import torch.nn.functional as F
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torch import nn

from ferlens.evaluation.faithfulness.curves import ROAD_FRACTIONS, RoadScores, deletion_insertion, road, saliency_ranks, tie_breaks, trapezoid_auc
from ferlens.user_errors import UserError


class RegionNet(nn.Module):
    """Logits = a fixed random linear map of the mean colour and the mean squared colour of each
    cell of a 3 x 3 grid: a network whose prediction moves with each region's content and
    texture (any image size), as imputation smooths it."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(3)
        self.head = nn.Linear(54, 6)
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(6, 54, generator=torch.Generator().manual_seed(0)) * 3)
            self.head.bias.zero_()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.pool(images), self.pool(images * images)], dim=1).flatten(1))


@pytest.fixture(scope="module")
def confident_net() -> nn.Module:
    return RegionNet().eval()


def batch(count: int, side: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images [count, 3, side, side] in [0, 1], half noise, half smooth; maps with distinct values; targets)."""
    generator = torch.Generator().manual_seed(seed)
    smooth = F.interpolate(torch.rand(count, 3, 4, 4, generator=generator), size=(side, side), mode="bilinear", align_corners=False)
    images = 0.5 * torch.rand(count, 3, side, side, generator=generator) + 0.5 * smooth
    maps = torch.rand(count, side, side, generator=generator)
    return images, maps, torch.randint(0, 6, (count,), generator=generator)


def test_deletion_equals_quantus_pixel_flipping(confident_net):
    images, maps, targets = batch(3, 30, 0)
    ours = deletion_insertion(confident_net, images, maps, targets, steps=15)
    # Quantus flips channel features; a map repeated over the channels and steps of 3 x 60 features
    # remove whole pixels, 60 per step (900 / 15), set to the baseline 0
    metric = quantus.PixelFlipping(features_in_step=3 * 60, perturb_baseline=0.0, normalise=False, abs=False, disable_warnings=True)
    repeated = np.repeat(maps.numpy()[:, None], 3, axis=1)
    theirs = np.array(metric(model=confident_net, x_batch=images.numpy(), y_batch=targets.numpy(), a_batch=repeated, softmax=True, device="cpu"))
    assert theirs.shape == (3, 15) and theirs.std() > 0.01  # curves that move
    np.testing.assert_allclose(ours.deletion[:, 1:].numpy(), theirs, atol=1e-6)


def plain_curves(
    net: nn.Module, image: torch.Tensor, saliency: torch.Tensor, ties: np.ndarray, target: int, steps: int, baseline: float
) -> tuple[list[float], list[float]]:
    """One image, one forward pass per step: the deletion and insertion curves by their
    definition, pixels by decreasing saliency, equal ones in the order of the permutation ``ties``."""
    place = np.empty(len(ties), np.int64)
    place[ties] = np.arange(len(ties))  # each pixel's place in the tie order
    order = torch.from_numpy(np.lexsort((place, -saliency.flatten().numpy())))
    deletion, insertion = [], []
    for k in range(steps + 1):
        chosen = order[: k * saliency.numel() // steps]
        deleted, inserted = image.clone().flatten(1), torch.full_like(image, baseline).flatten(1)
        deleted[:, chosen] = baseline
        inserted[:, chosen] = image.flatten(1)[:, chosen]
        with torch.no_grad():
            deletion.append(float(net(deleted.view(1, *image.shape)).softmax(dim=1)[0, target]))
            insertion.append(float(net(inserted.view(1, *image.shape)).softmax(dim=1)[0, target]))
    return deletion, insertion


def test_curves_and_aucs_follow_their_definition_whatever_the_batch_size(confident_net):
    images, maps, targets = batch(4, 16, 1)
    maps[0, :4] = 0.5  # ties: taken in the seeded random order of the image
    curves = deletion_insertion(confident_net, images, maps, targets, steps=5, baseline=0.25, batch_size=64, seed=3)
    ties = tie_breaks(images, 3).numpy()
    for b in range(4):
        deletion, insertion = plain_curves(confident_net, images[b], maps[b], ties[b], int(targets[b]), 5, 0.25)
        np.testing.assert_allclose(curves.deletion[b].numpy(), deletion, atol=1e-6)
        np.testing.assert_allclose(curves.insertion[b].numpy(), insertion, atol=1e-6)
    fractions = np.arange(6) / 5
    np.testing.assert_allclose(curves.deletion_auc.numpy(), np.trapezoid(curves.deletion.double().numpy(), fractions, axis=1), atol=1e-12)
    np.testing.assert_allclose(curves.insertion_auc.numpy(), np.trapezoid(curves.insertion.double().numpy(), fractions, axis=1), atol=1e-12)
    assert torch.equal(curves.fractions, torch.tensor(fractions))
    small_batches = deletion_insertion(confident_net, images, maps, targets, steps=5, baseline=0.25, batch_size=3, seed=3)
    torch.testing.assert_close(small_batches.deletion, curves.deletion, atol=1e-6, rtol=0)
    assert trapezoid_auc(torch.tensor([[0.0, 1.0, 1.0]])).item() == pytest.approx(0.75)


def test_saliency_ranks_put_the_most_salient_pixel_first_and_ties_in_the_given_order():
    maps = torch.tensor([[[0.1, 0.9], [0.5, 0.5]]])
    assert saliency_ranks(maps, torch.arange(4)[None]).tolist() == [[3, 0, 1, 2]]  # raster order
    assert saliency_ranks(maps, torch.tensor([[3, 2, 1, 0]])).tolist() == [[3, 0, 2, 1]]  # the tied pixels 2 and 3 swapped


def test_tie_breaks_are_fixed_by_the_seed_and_the_image_not_by_the_batch():
    images, _, _ = batch(4, 16, 5)
    ties = tie_breaks(images, 0)
    assert ties.shape == (4, 256) and all(sorted(row) == list(range(256)) for row in ties.tolist())  # permutations
    assert torch.equal(tie_breaks(images, 0), ties) and torch.equal(tie_breaks(images[1:], 0), ties[1:])
    assert not torch.equal(ties[0], ties[1])  # other images, other orders
    assert not torch.equal(tie_breaks(images, 1), ties)  # another seed, other orders


class HalvesNet(nn.Module):
    """Two logits: 10 x the mean of the top half and of the bottom half of the image."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        top, bottom = images.mean(dim=1).chunk(2, dim=1)
        return 10 * torch.stack([top.flatten(1).mean(dim=1), bottom.flatten(1).mean(dim=1)], dim=1)


def test_tied_pixels_are_removed_all_over_the_image_not_top_down():
    # a CAM-like map: zero except a 4 x 4 blob; at 50 % deletion 784 of the 1584 tied pixels are removed
    images = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(6))
    maps = torch.zeros(1, 40, 40)
    maps[0, 18:22, 18:22] = 1.0
    rows = torch.arange(40).repeat_interleave(40)
    tied = maps.flatten() == 0
    removed = (saliency_ranks(maps, tie_breaks(images, 0))[0] < 800) & tied
    raster = (saliency_ranks(maps, torch.arange(1600)[None])[0] < 800) & tied
    assert rows[raster].double().mean() < 10  # raster order: the top half of the image (measured 9.3)
    assert rows[removed].double().mean() == pytest.approx(19.5, abs=1.0)  # random order: the centre row on average
    assert rows[removed].double().mean() == pytest.approx(rows[tied & ~removed].double().mean(), abs=2.0)  # as the tied pixels kept
    # a network that weighs both halves equally keeps its balance at 50 % deletion of a map that is all ties
    uniform = torch.ones(1, 3, 40, 40)
    curves = deletion_insertion(HalvesNet(), uniform, torch.zeros(1, 40, 40), torch.zeros(1, dtype=torch.long), steps=2)
    assert curves.deletion[0, 0] == pytest.approx(0.5) and curves.deletion[0, 1] == pytest.approx(0.5, abs=0.1)  # raster: 0.00005


class NoiselessImputer(grad_cam_road.NoisyLinearImputer):
    """pytorch-grad-cam's imputer with noise 0 (its ROAD metrics build the imputer with its default noise, 0.01)."""

    def __init__(self) -> None:
        super().__init__(noise=0.0)


def test_road_equals_pytorch_grad_cam_without_noise(confident_net, monkeypatch):
    # 40 x 40 = 1600 distinct map values: its percentile thresholds remove exactly f * 1600 pixels, as ours
    images, maps, _ = batch(4, 40, 2)
    with torch.no_grad():
        targets = confident_net(images).argmax(dim=1)  # predicted: ROAD's accuracy starts at 1
    monkeypatch.setattr(grad_cam_road, "NoisyLinearImputer", NoiselessImputer)
    ours = road(confident_net, images, maps, targets, noise=0.0)  # the default fractions, 10 % to 90 % in steps of 20 %
    softmax_targets = [ClassifierOutputSoftmaxTarget(int(t)) for t in targets]
    for i, fraction in enumerate(ROAD_FRACTIONS):
        percentile = round(100 * (1 - fraction))  # theirs keeps the pixels below this percentile (MoRF)
        for order, metric, probabilities, kept in (
            ("morf", grad_cam_road.ROADMostRelevantFirst(percentile), ours.morf, ours.morf_kept),
            ("lerf", grad_cam_road.ROADLeastRelevantFirst(percentile), ours.lerf, ours.lerf_kept),
        ):
            change, perturbed = metric(images, maps.numpy(), softmax_targets, confident_net, return_visualization=True)
            np.testing.assert_allclose((probabilities[:, i] - ours.original).numpy(), change, atol=1e-6, err_msg=f"{order} {fraction}")
            with torch.no_grad():
                assert torch.equal(kept[:, i], confident_net(perturbed).argmax(dim=1) == targets), (order, fraction)
    combined = grad_cam_road.ROADCombined(percentiles=[10, 30, 50, 70, 90])(images, maps.numpy(), softmax_targets, confident_net)
    np.testing.assert_allclose(ours.combined.numpy(), combined, atol=1e-6)
    assert (ours.morf - ours.original[:, None]).abs().max() > 0.01  # imputations that move the scores
    assert ours.morf_kept.any() and not ours.morf_kept.all()  # and the predictions


def test_road_noise_is_fixed_by_the_seed_and_the_image_not_by_the_batch(confident_net):
    images, maps, targets = batch(4, 16, 3)
    noisy = road(confident_net, images, maps, targets, noise=0.05, seed=7, batch_size=3)
    alone = road(confident_net, images[1:], maps[1:], targets[1:], noise=0.05, seed=7, batch_size=64)
    torch.testing.assert_close(alone.morf, noisy.morf[1:], atol=1e-6, rtol=0)
    torch.testing.assert_close(alone.lerf, noisy.lerf[1:], atol=1e-6, rtol=0)
    other_seed = road(confident_net, images, maps, targets, noise=0.05, seed=8)
    clean = road(confident_net, images, maps, targets, noise=0.0)
    assert not torch.equal(other_seed.morf, noisy.morf) and not torch.equal(clean.morf, noisy.morf)
    assert noisy.fractions == ROAD_FRACTIONS and noisy.morf.shape == (4, 5) and noisy.morf_kept.dtype == torch.bool


def test_the_network_mode_is_restored_and_bad_arguments_are_refused(confident_net):
    images, maps, targets = batch(2, 16, 4)
    confident_net.train()
    deletion_insertion(confident_net, images, maps, targets, steps=2)
    road(confident_net, images, maps, targets, fractions=(0.5,))
    assert confident_net.training
    confident_net.eval()
    with pytest.raises(ValueError, match="maps \\[B, H, W\\]"):
        deletion_insertion(confident_net, images, maps[:, :8], targets)
    with pytest.raises(UserError, match="need at least 2 steps, got 1: set steps to 2 or more"):
        deletion_insertion(confident_net, images, maps, targets, steps=1)
    with pytest.raises(UserError, match=r"strictly between 0 and 1, got \[0.5, 1.0\]: give fractions such as"):
        road(confident_net, images, maps, targets, fractions=(0.5, 1.0))


class LessSure(nn.Module):
    """``net``'s log-probabilities and a seventh class of constant logit log(3): every class
    probability is ``net``'s divided by 4, the same network only less confident."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.net(images).log_softmax(dim=1)
        return torch.cat([logits, torch.full_like(logits[:, :1], float(np.log(3.0)))], dim=1)


class Sure(nn.Module):
    """``net``'s log-probabilities (the same probabilities)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).log_softmax(dim=1)


def test_normalised_scores_do_not_change_with_the_networks_confidence(confident_net):
    images, maps, targets = batch(4, 16, 7)
    sure, unsure = Sure(confident_net), LessSure(confident_net)
    curves = {name: deletion_insertion(net, images, maps, targets, steps=4) for name, net in (("sure", sure), ("unsure", unsure))}
    roads = {name: road(net, images, maps, targets, fractions=(0.3, 0.7), noise=0.05) for name, net in (("sure", sure), ("unsure", unsure))}
    # the raw scores are a quarter: compared across networks they rank confidence, not faithfulness
    torch.testing.assert_close(curves["unsure"].deletion_auc, curves["sure"].deletion_auc / 4, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(roads["unsure"].morf.double(), roads["sure"].morf.double() / 4, atol=1e-6, rtol=1e-5)
    assert (curves["sure"].insertion_auc - curves["unsure"].insertion_auc).mean() > 0.1  # measured 0.23
    for name in ("normalised_deletion_auc", "normalised_insertion_auc"):
        torch.testing.assert_close(getattr(curves["unsure"], name), getattr(curves["sure"], name), atol=1e-5, rtol=1e-5, msg=name)
    for name in ("normalised_morf", "normalised_lerf", "normalised_combined"):
        torch.testing.assert_close(getattr(roads["unsure"], name), getattr(roads["sure"], name), atol=1e-5, rtol=1e-5, msg=name)
    # by definition: each image's score over its unperturbed probability
    original = curves["sure"].deletion[:, 0].double()
    torch.testing.assert_close(curves["sure"].normalised_deletion_auc, curves["sure"].deletion_auc / original)
    torch.testing.assert_close(roads["sure"].normalised_lerf, roads["sure"].lerf.double() / roads["sure"].original.double()[:, None])
    kept = torch.ones(2, 1, dtype=torch.bool)
    zero = RoadScores((0.5,), torch.tensor([0.0, 0.5]), torch.tensor([[0.1], [0.1]]), torch.tensor([[0.2], [0.2]]), kept, kept)
    assert torch.isnan(zero.normalised_morf[0]).all() and zero.normalised_morf[1].item() == pytest.approx(0.2)  # no probability to keep: NaN
