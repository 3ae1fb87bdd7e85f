"""RandomisationAccumulator: per-class means of the randomisation similarities, undefined
Spearman values left out and counted, the same however the samples are split over ranks."""

import pytest
import torch

from ferlens.evaluation.randomisation.accumulator import RandomisationAccumulator
from ferlens.evaluation.randomisation.mprt import MODES, RandomisationScores

LAYERS = ("head", "conv2", "conv1")


def scores(count: int, seed: int, draws: int = 2) -> RandomisationScores:
    generator = torch.Generator().manual_seed(seed)
    spearman = {mode: torch.rand(draws, 3, count, generator=generator, dtype=torch.float64) * 2 - 1 for mode in MODES}
    spearman["cascading"][:, 2, 0] = float("nan")  # image 0: constant maps at depth 3 in every draw
    spearman["independent"][0, 1, 1] = float("nan")  # image 1: in one draw only
    ssim = {mode: torch.rand(draws, 3, count, generator=generator, dtype=torch.float64) for mode in MODES}
    return RandomisationScores(LAYERS, (), torch.zeros(count, dtype=torch.long), spearman, ssim)


def test_means_per_class_leave_undefined_spearman_out_and_count_it():
    batch = scores(5, 0)
    classes = torch.tensor([1, 1, 0, 1, 0])
    accumulator = RandomisationAccumulator(num_classes=3, num_layers=3)
    accumulator.update(batch, classes)
    result = accumulator.compute()
    per_class, overall = result["per_class"], result["overall"]
    assert per_class["counts"].tolist() == [2, 3, 0]
    rho = batch.spearman["cascading"]  # [L, B], image 0 NaN at depth 3, image 1 the mean of its one defined draw
    torch.testing.assert_close(per_class["cascading_spearman"][1, :2], rho[:2, [0, 1, 3]].mean(dim=1))
    torch.testing.assert_close(per_class["cascading_spearman"][1, 2], rho[2, [1, 3]].mean())
    assert per_class["cascading_undefined"][1].tolist() == [0, 0, 1] and overall["cascading_undefined"].tolist() == [0, 0, 1]
    assert per_class["independent_undefined"].sum() == 0  # one draw of two undefined: the image keeps the other
    torch.testing.assert_close(per_class["independent_ssim"][0], batch.ssim["independent"][:, [2, 4]].mean(dim=1))
    torch.testing.assert_close(overall["cascading_spearman"][2], rho[2, 1:].mean())
    torch.testing.assert_close(overall["independent_ssim"], batch.ssim["independent"].mean(dim=1))
    assert torch.isnan(per_class["cascading_spearman"][2]).all() and torch.isnan(per_class["independent_ssim"][2]).all()


def test_two_ranks_merged_equal_one():
    first, second = scores(4, 1), scores(3, 2)
    classes = torch.tensor([0, 2, 2, 1]), torch.tensor([1, 0, 2])
    single = RandomisationAccumulator(3, 3)
    ranks = [RandomisationAccumulator(3, 3) for _ in range(2)]
    for rank, batch, batch_classes in zip(ranks, (first, second), classes, strict=True):
        single.update(batch, batch_classes)
        rank.update(batch, batch_classes)
    ranks[0].merge_state(ranks[1])
    expected, merged = single.compute(), ranks[0].compute()
    for level in ("per_class", "overall"):
        for name, value in expected[level].items():
            torch.testing.assert_close(merged[level][name], value, atol=1e-12, rtol=0, equal_nan=True, msg=name)


def test_scores_of_another_network_are_refused_in_one_sentence():
    with pytest.raises(ValueError, match="made for 4 layers, the scores have 3"):
        RandomisationAccumulator(2, num_layers=4).update(scores(2, 3), torch.tensor([0, 1]))
