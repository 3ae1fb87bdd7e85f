"""FaithfulnessAccumulator: per-class means of the faithfulness scores, the same however the
samples are split over ranks."""

import pytest
import torch

from ferlens.evaluation.faithfulness.accumulator import FaithfulnessAccumulator
from ferlens.evaluation.faithfulness.curves import DeletionInsertion, RoadScores

STEPS, FRACTIONS = 4, (0.1, 0.5, 0.9)


def scores(count: int, seed: int) -> tuple[DeletionInsertion, RoadScores]:
    generator = torch.Generator().manual_seed(seed)
    curves = DeletionInsertion(torch.rand(count, STEPS + 1, generator=generator), torch.rand(count, STEPS + 1, generator=generator))
    road = RoadScores(
        FRACTIONS,
        torch.rand(count, generator=generator),
        torch.rand(count, 3, generator=generator),
        torch.rand(count, 3, generator=generator),
        torch.rand(count, 3, generator=generator) > 0.5,
        torch.rand(count, 3, generator=generator) > 0.5,
    )
    return curves, road


def test_means_per_class_and_overall_with_nan_for_an_empty_class():
    curves, road = scores(7, 0)
    classes = torch.tensor([0, 2, 2, 0, 3, 2, 0])
    accumulator = FaithfulnessAccumulator(num_classes=5, steps=STEPS, num_fractions=3)
    accumulator.update(curves, road, classes)
    result = accumulator.compute()
    per_class, overall = result["per_class"], result["overall"]
    assert per_class["counts"].tolist() == [3, 0, 3, 1, 0] and overall["counts"].item() == 7
    chosen = classes == 2
    torch.testing.assert_close(per_class["deletion"][2], curves.deletion[chosen].double().mean(dim=0))
    torch.testing.assert_close(per_class["insertion_auc"][2], curves.insertion_auc[chosen].mean())
    torch.testing.assert_close(per_class["road_lerf"][2], road.lerf[chosen].double().mean(dim=0))
    torch.testing.assert_close(per_class["road_morf_accuracy"][2], road.morf_kept[chosen].double().mean(dim=0))
    torch.testing.assert_close(per_class["road_combined"][2], road.combined[chosen].mean())
    torch.testing.assert_close(overall["deletion_auc"], curves.deletion_auc.mean())
    torch.testing.assert_close(overall["road_morf"], road.morf.double().mean(dim=0))
    for name in ("deletion", "deletion_auc", "road_morf", "road_combined"):
        assert torch.isnan(per_class[name][1]).all() and torch.isnan(per_class[name][4]).all(), name
    assert per_class["deletion"].shape == (5, STEPS + 1) and per_class["road_lerf_accuracy"].shape == (5, 3)


def test_two_ranks_merged_equal_one():
    curves, road = scores(10, 1)
    classes = torch.tensor([0, 1, 1, 2, 0, 1, 2, 2, 0, 1])
    single = FaithfulnessAccumulator(3, STEPS, 3)
    single.update(curves, road, classes)
    ranks = [FaithfulnessAccumulator(3, STEPS, 3) for _ in range(2)]
    for rank, part in zip(ranks, (slice(0, 4), slice(4, 10)), strict=True):
        part_curves = DeletionInsertion(curves.deletion[part], curves.insertion[part])
        part_road = RoadScores(FRACTIONS, *(getattr(road, name)[part] for name in ("original", "morf", "lerf", "morf_kept", "lerf_kept")))
        rank.update(part_curves, part_road, classes[part])
    ranks[0].merge_state(ranks[1])
    expected, merged = single.compute(), ranks[0].compute()
    for level in ("per_class", "overall"):
        for name, value in expected[level].items():
            torch.testing.assert_close(merged[level][name], value, atol=1e-12, rtol=0, msg=name)


def test_scores_of_another_shape_are_refused_in_one_sentence():
    curves, road = scores(2, 2)
    with pytest.raises(ValueError, match=r"expects deletion of shape \(2, 7\), got \(2, 5\)"):
        FaithfulnessAccumulator(3, steps=6, num_fractions=3).update(curves, road, torch.tensor([0, 1]))


def test_normalised_scores_are_per_image_ratios_averaged_over_the_images_with_a_probability():
    curves, road = scores(6, 3)
    original = road.original.clone()
    original[4] = 0.0  # an image the network gives no probability: no ratio, left out and counted
    road = RoadScores(FRACTIONS, original, road.morf, road.lerf, road.morf_kept, road.lerf_kept)
    classes = torch.tensor([0, 0, 1, 1, 1, 2])
    accumulator = FaithfulnessAccumulator(3, STEPS, 3)
    accumulator.update(curves, road, classes)
    per_class, overall = accumulator.compute()["per_class"], accumulator.compute()["overall"]
    assert per_class["counts"].tolist() == [2, 3, 1] and per_class["normalised_counts"].tolist() == [2, 2, 1] and overall["normalised_counts"] == 5
    ratios = curves.deletion_auc / curves.deletion[:, 0].double()
    torch.testing.assert_close(per_class["normalised_deletion_auc"][0], ratios[:2].mean())
    torch.testing.assert_close(per_class["normalised_deletion_auc"][1], ratios[2:4].mean())  # image 4 left out
    torch.testing.assert_close(per_class["deletion_auc"][1], curves.deletion_auc[2:5].mean())  # but not from the raw scores
    torch.testing.assert_close(per_class["normalised_road_morf"][1], (road.morf[2:4].double() / original[2:4, None].double()).mean(dim=0))
    torch.testing.assert_close(overall["normalised_road_combined"], (road.combined / original.double())[[0, 1, 2, 3, 5]].mean())
    assert torch.isfinite(overall["normalised_insertion_auc"]) and overall["normalised_road_lerf"].shape == (3,)
