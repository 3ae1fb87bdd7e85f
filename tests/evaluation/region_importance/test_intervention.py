"""Region importance by intervention: the batched imputation against the per-image reference,
the regions drawn on an image, the area-matched controls, and a planted network whose answer
is known (it reads one square of the image)."""

import numpy as np
import pytest
import torch
from torch import nn

from ferlens.evaluation.faithfulness.imputation import impute_image, impute_jobs
from ferlens.evaluation.region_importance.intervention import (
    AU_REGION_GROUPS,
    control_masks,
    face_mask,
    intervene,
    own_regions,
    region_importance,
    region_masks,
    region_names,
)
from ferlens.faces.au import au_region_mask
from ferlens.faces.ekman_masks import REGIONS, render_regions
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH, template_points
from ferlens.user_errors import UserError

SIDE = 40
SQUARE = (slice(8, 16), slice(20, 28))  # the pixels the planted network reads


class SquareNet(nn.Module):
    """Class 0's logit = 40 x the mean red of ``SQUARE``; class 1's = 20 (a constant): only the
    square matters, and imputing it replaces its red by its surroundings'."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        square = images[:, 0, SQUARE[0], SQUARE[1]].mean(dim=(1, 2))
        return torch.stack([40 * square, torch.full_like(square, 20.0)], dim=1)


def test_batched_imputation_equals_the_per_image_solve():
    rng = np.random.default_rng(0)
    images = rng.random((3, 3, 20, 24))
    missing = rng.random((7, 20, 24)) < 0.2
    missing[2] = False  # a job with nothing removed is the image itself
    image_of = np.array([0, 1, 2, 0, 1, 2, 0])
    expected = np.stack([impute_image(images[i], m) for i, m in zip(image_of, missing, strict=True)])
    np.testing.assert_allclose(impute_jobs(images, image_of, missing), expected, atol=1e-10)


def test_a_job_removing_every_pixel_is_refused():
    with pytest.raises(ValueError, match="every pixel"):
        impute_jobs(np.zeros((1, 3, 4, 4)), np.array([0]), np.ones((1, 4, 4), bool))


def test_regions_are_the_au_ellipses_and_the_ekman_parts_drawn_from_the_landmarks():
    names = region_names()
    assert len(names) == len(AU_REGION_GROUPS) + len(REGIONS) and names[0] == "au:AU1" and "ekman:forehead" in names
    points = template_points()
    masks = region_masks(names, points[:68], TEMPLATE_HEIGHT, TEMPLATE_WIDTH)
    for r, name in enumerate(names):
        family, region = name.split(":", 1)
        expected = au_region_mask(AU_REGION_GROUPS[region][0], points[:68], TEMPLATE_HEIGHT, TEMPLATE_WIDTH) if family == "au" else render_regions([region])
        np.testing.assert_array_equal(masks[r], expected, err_msg=name)
        assert masks[r].any(), name
    assert not region_masks(names, np.full((68, 2), np.nan), 10, 10).any()  # no landmarks: no region


def test_own_regions_follow_the_codebook_and_the_ekman_masks():
    names = region_names()
    own = own_regions(names, "Happiness", (6, 12, 25))
    chosen = {names[i] for i in np.flatnonzero(own)}
    assert {"au:AU6", "au:AU12/AU15", "au:AU25", "ekman:lower_cheeks", "ekman:right_eye"} <= chosen
    assert "au:AU1" not in chosen and "ekman:forehead" not in chosen


def test_unknown_families_are_refused_in_one_sentence():
    with pytest.raises(UserError, match="choose from au, ekman"):
        region_names(("au", "mouths"))


def test_controls_are_squares_of_the_regions_area_centred_in_the_face_and_seeded():
    region = np.zeros((SIDE, SIDE), bool)
    region[5:10, 5:15] = True  # 50 pixels: squares of side 7
    face = np.zeros((SIDE, SIDE), bool)
    face[20:30, 10:30] = True
    first = control_masks(region, face, 6, np.random.default_rng(3))
    assert first.shape == (6, SIDE, SIDE) and (first.sum(axis=(1, 2)) == 49).all()
    for mask in first:
        rows, columns = np.nonzero(mask)
        assert face[(rows.min() + rows.max() + 1) // 2 - 0, (columns.min() + columns.max() + 1) // 2]  # centred on a face pixel
    np.testing.assert_array_equal(first, control_masks(region, face, 6, np.random.default_rng(3)))
    assert not control_masks(np.zeros_like(region), face, 2, np.random.default_rng(0)).any()  # an empty region has no control


@pytest.fixture(scope="module")
def planted():
    """Four images (noise around a red square), the square, a same-size patch elsewhere in the
    'face', and one outside it, and their interventions on SquareNet."""
    generator = torch.Generator().manual_seed(0)
    images = 0.3 * torch.rand(4, 3, SIDE, SIDE, generator=generator)
    images[:, 0, SQUARE[0], SQUARE[1]] = 1.0
    masks = np.zeros((4, 3, SIDE, SIDE), bool)
    masks[:, 0, SQUARE[0], SQUARE[1]] = True  # what the network reads
    masks[:, 1, 26:34, 8:16] = True  # a patch it cannot use
    masks[:, 2, 0:4, 0:16] = True  # a corner strip, outside the face
    faces = np.zeros((4, SIDE, SIDE), bool)
    faces[:, 4:36, 4:36] = True
    targets = torch.zeros(4, dtype=torch.long)
    scores = intervene(SquareNet(), images, masks, faces, targets, ("square", "elsewhere", "corner"), draws=8, seed=1, batch_size=5)
    return images, masks, faces, targets, scores


def test_the_region_the_network_reads_matters_and_the_others_do_not(planted):
    images, _, _, _, scores = planted
    # the square's red (1.0) becomes about its surroundings' (0.15): the logit falls by about 40 x 0.85
    assert (scores.logit_drop[:, 0] > 25).all() and (scores.drop[:, 0] > 0.9).all()
    assert scores.drop[:, 1:].abs().max() < 1e-6 and scores.logit_drop[:, 1:].abs().max() < 1e-5
    # the controls of the square (64 pixels, squares of side 8 in the face) sometimes overlap it: less than the square itself
    assert (scores.control_drop[:, 0].mean(dim=1) < scores.drop[:, 0]).all()
    assert scores.area[0].tolist() == [64, 64, 64]
    original = torch.stack([40 * images[:, 0, SQUARE[0], SQUARE[1]].mean(dim=(1, 2)), torch.full((4,), 20.0)], dim=1).softmax(dim=1)[:, 0]
    torch.testing.assert_close(scores.original, original.double(), atol=1e-6, rtol=0)


def test_interventions_do_not_depend_on_the_batch(planted):
    images, masks, faces, targets, scores = planted
    alone = intervene(SquareNet(), images[2:3], masks[2:3], faces[2:3], targets[2:3], ("square", "elsewhere", "corner"), draws=8, seed=1, batch_size=64)
    torch.testing.assert_close(alone.control_probability[0], scores.control_probability[2], atol=1e-12, rtol=0)
    torch.testing.assert_close(alone.probability[0], scores.probability[2], atol=1e-12, rtol=0)


def test_region_importance_draws_the_regions_from_landmarks():
    points = template_points()[:68] * (64 / TEMPLATE_WIDTH)
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    landmarks = torch.from_numpy(np.stack([points, points])).float()
    net = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(48, 3))
    torch.manual_seed(0)
    names = region_names(("au",))
    scores = region_importance(net, images, landmarks, torch.tensor([0, 2]), names, draws=2)
    assert scores.probability.shape == (2, len(names)) and scores.control_probability.shape == (2, len(names), 2)
    expected_area = region_masks(names, points, 64, 64).sum(axis=(1, 2))
    assert scores.area[0].tolist() == expected_area.tolist()
    # the template scaled to 64 px wide is 78 px high: the chin (AU17) falls below the image, NaN, not a drop of 0
    outside = torch.from_numpy(expected_area == 0)
    assert outside.tolist() == [name == "au:AU17" for name in names]
    assert torch.isnan(scores.probability[:, outside]).all() and torch.isfinite(scores.probability[:, ~outside]).all()
    assert face_mask(points, 64, 64).sum() > 0.25 * 64 * 64
