"""The region-importance accumulator gathers each image once, sorted by source index, and its
evidence file round-trips and refuses damage in one sentence."""

import json

import numpy as np
import pytest
import torch

from ferlens.evaluation.region_importance.accumulator import RegionImportanceAccumulator
from ferlens.evaluation.region_importance.intervention import RegionImportance
from ferlens.formats.importance_evidence import ImportanceEvidence, read_importance, write_importance
from ferlens.formats.manifest import CorruptArtifactError

REGIONS, DRAWS = ("au:AU1", "au:AU2", "ekman:forehead"), 2


def scores(count: int, seed: int) -> RegionImportance:
    generator = torch.Generator().manual_seed(seed)
    values = [torch.rand(count, *shape, generator=generator, dtype=torch.float64) for shape in ((), (), (3,), (3,), (3, DRAWS), (3, DRAWS))]
    return RegionImportance(REGIONS, *values, torch.randint(1, 50, (count, 3), generator=generator))


def test_two_ranks_merged_equal_one_sorted_by_index():
    batch = scores(6, 0)
    index, target = torch.tensor([5, 1, 9, 3, 0, 7]), torch.tensor([0, 1, 2, 0, 1, 2])
    single = RegionImportanceAccumulator(3, DRAWS)
    single.update(batch, index, target, target, target)
    ranks = [RegionImportanceAccumulator(3, DRAWS) for _ in range(2)]
    for rank, part in zip(ranks, (slice(0, 2), slice(2, 6)), strict=True):
        piece = RegionImportance(
            REGIONS,
            *(getattr(batch, name)[part] for name in ("original", "original_logit", "probability", "logit", "control_probability", "control_logit", "area")),
        )
        rank.update(piece, index[part], target[part], target[part], target[part])
    ranks[0].merge_state(ranks[1])
    expected, merged = single.compute(), ranks[0].compute()
    assert merged["index"].tolist() == [0, 1, 3, 5, 7, 9]
    for name, value in expected.items():
        torch.testing.assert_close(merged[name], value, msg=name)
    order = torch.argsort(index)
    torch.testing.assert_close(merged["control_probability"], batch.control_probability[order])


def test_scores_of_another_shape_are_refused():
    with pytest.raises(ValueError, match="3 regions and 3 draws"):
        RegionImportanceAccumulator(3, 3).update(scores(2, 1), *(torch.zeros(2, dtype=torch.long),) * 4)


def evidence() -> ImportanceEvidence:
    batch = scores(4, 2)
    arrays = {
        name: getattr(batch, name).numpy() for name in ("original", "original_logit", "probability", "logit", "control_probability", "control_logit", "area")
    }
    ids = np.arange(4)
    return ImportanceEvidence(
        REGIONS,
        ["Anger", "Fear"],
        ids,
        ids % 2,
        ids % 2,
        ids % 2,
        np.array(["a", "b", "a", "b"]),
        np.array(["w", "x", "y", "z"]),
        manifest={"run": {"model": "m"}},
        **arrays,
    )


def test_evidence_round_trips(tmp_path):
    written = evidence()
    read = read_importance(write_importance(tmp_path / "au_regions", written))
    assert read.regions == REGIONS and read.classes == ["Anger", "Fear"] and read.manifest["run"] == {"model": "m"}
    np.testing.assert_array_equal(read.control_probability, written.control_probability)
    np.testing.assert_array_equal(read.excess, written.drop - written.control_drop)
    assert read.subject.tolist() == ["a", "b", "a", "b"]


def test_an_edited_manifest_or_a_changed_file_is_refused_in_one_sentence(tmp_path):
    directory = write_importance(tmp_path / "au_regions", evidence())
    manifest = json.loads((directory / "manifest.json").read_text())
    (directory / "manifest.json").write_text(json.dumps({**manifest, "regions": ["au:AU1"]}))
    with pytest.raises(CorruptArtifactError, match="was edited"):
        read_importance(directory)
    directory = write_importance(tmp_path / "again", evidence())
    (directory / "importance.npz").write_bytes(b"damaged")
    with pytest.raises(CorruptArtifactError, match="does not match its manifest"):
        read_importance(directory)
