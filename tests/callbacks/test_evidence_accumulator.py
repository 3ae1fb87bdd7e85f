import torch

from ferlens.callbacks.evidence_accumulator import ImageEvidenceAccumulator
from ferlens.formats.evidence import pool_to_evidence


def _batch(indices: list[int], value: float):
    maps = torch.stack([torch.full((275, 224), value + i) for i in indices])
    index = torch.tensor(indices)
    return maps, index, index % 6, index % 6, (index + 1) % 6


def test_two_ranks_merged_equal_one_rank_each_image_once_and_invalid_ones_left_out():
    one = ImageEvidenceAccumulator()
    batches = [_batch([5, 1, 9], 0.0), _batch([3, 7], 0.0)]
    for maps, index, target, label, prediction in batches:
        one.update(maps, index, target, label, prediction, torch.tensor([True] * len(index)))
    first, second = ImageEvidenceAccumulator(), ImageEvidenceAccumulator()
    first.update(*batches[1], torch.tensor([True, True]))
    second.update(*batches[0], torch.tensor([True, True, True]))
    second.update(torch.zeros(0, 275, 224), *(torch.zeros(0, dtype=torch.long),) * 4, torch.zeros(0, dtype=torch.bool))  # a rank with nothing
    first.merge_state(second)  # what the DDP gather does: concatenate the ranks' states
    expected, merged = one.compute(), first.compute()
    assert merged[1].tolist() == [1, 3, 5, 7, 9]  # sorted by source index
    for a, b in zip(expected, merged, strict=True):
        assert torch.equal(a, b)
    assert torch.allclose(merged[0][2], pool_to_evidence(torch.full((275, 224), 5.0)))
    skipping = ImageEvidenceAccumulator()
    skipping.update(*batches[0], torch.tensor([True, False, True]))
    assert skipping.compute()[1].tolist() == [5, 9]
    assert ImageEvidenceAccumulator().compute()[0].shape == (0, 55, 56)
