import json

import numpy as np
import pytest
import torch

from ferlens.formats.evidence import (
    EVIDENCE_FILE,
    CorruptEvidenceError,
    ImageEvidence,
    evidence_from_maps,
    pool_mask,
    pool_to_evidence,
    read_evidence,
)
from ferlens.formats.heatmap_artifact import CorruptArtifactError, artifact_files, read_artifact, sign_manifest, write_artifact
from ferlens.formats.manifest import EvidenceInfo
from tests.analysis.helpers import made_up_manifest

CLASSES = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]
MANIFEST = made_up_manifest("gradcam", model="weinet", pretrained=False, seed=0, epoch=0)


def _evidence(maps: np.ndarray, target: list[int], subjects: list[str] | None = None) -> ImageEvidence:
    n = len(target)
    return evidence_from_maps(
        pool_to_evidence(maps),
        np.arange(n)[::-1] * 10,
        np.array(target),
        np.array(target),
        np.array(target) % 2,
        subjects or [""] * n,
        [f"f{i}.png" for i in range(n)],
    )


def test_pooling_is_the_exact_block_mean_for_numpy_and_torch():
    maps = np.random.default_rng(0).random((3, 275, 224)).astype(np.float32)
    pooled = pool_to_evidence(maps)
    assert pooled.shape == (3, 55, 56)
    assert pooled[1, 7, 9] == pytest.approx(maps[1, 35:40, 36:40].mean(), rel=1e-6)
    np.testing.assert_allclose(pool_to_evidence(torch.from_numpy(maps)).numpy(), pooled, rtol=1e-6)
    np.testing.assert_allclose(pooled.mean(axis=(1, 2)), maps.mean(axis=(1, 2)), rtol=1e-5)  # the blocks tile the template
    mask = np.zeros((275, 224), bool)
    mask[:, :112] = True
    mask[0:3, 112:116] = True  # 12 of a block's 20 pixels: inside; a block with fewer is not
    assert pool_mask(mask)[:, :28].all() and pool_mask(mask)[0, 28] and not pool_mask(mask)[1:, 28:].any()


def test_evidence_sorted_by_index_scaled_to_its_maximum_and_means_equal_the_heatmaps(tmp_path):
    rng = np.random.default_rng(1)
    maps = rng.random((8, 275, 224)).astype(np.float32) * 1e-6  # tiny saliency values do not underflow in float16
    target = [0, 0, 2, 2, 2, 3, 5, 5]
    evidence = _evidence(maps, target, [f"s{i % 3}" for i in range(8)])
    assert list(evidence.index) == sorted(evidence.index) and evidence.maps.dtype == np.float16 and evidence.maps.max() <= 1
    heatmaps = np.stack([maps[np.array(target) == c].mean(0) if c in target else np.zeros((275, 224), np.float32) for c in range(6)])
    counts = [int(np.sum(np.array(target) == c)) for c in range(6)]
    directory = write_artifact(tmp_path / "gradcam", heatmaps, counts, CLASSES, MANIFEST, evidence)
    artifact = read_artifact(directory)
    assert artifact.manifest.evidence == EvidenceInfo(
        file=EVIDENCE_FILE, images=8, grid=(55, 56), block=(5, 4), dtype="float16 maps scaled by each image's maximum (float32 scale)", subjects_known=True
    )
    assert EVIDENCE_FILE in artifact.manifest.sha256 and sorted(artifact.manifest.sha256) == sorted(artifact_files(CLASSES, evidence=True))
    read = artifact.evidence
    for c in (0, 2, 3, 5):
        mean = read.values(read.target == c).mean(axis=0)
        np.testing.assert_allclose(mean, pool_to_evidence(heatmaps[c]).ravel(), rtol=2e-3, atol=0)
    assert set(read.subject) == {"s0", "s1", "s2"} and read.name.dtype.kind == "U"
    assert list(read.units(np.flatnonzero(read.target == 2), "images")) == [0, 1, 2]


def test_artifacts_without_evidence_are_still_read(tmp_path):
    directory = write_artifact(tmp_path / "old", np.zeros((6, 275, 224), np.float32), [1] * 6, CLASSES, MANIFEST)
    artifact = read_artifact(directory)
    assert artifact.evidence is None and artifact.manifest.evidence is None and EVIDENCE_FILE not in artifact.manifest.sha256
    assert "evidence" not in json.loads((directory / "manifest.json").read_text())  # left out, not null, as before 0.2.0


def test_damaged_or_inconsistent_evidence_is_refused_in_one_sentence(tmp_path):
    maps = np.random.default_rng(2).random((4, 275, 224)).astype(np.float32)
    evidence = _evidence(maps, [0, 1, 1, 4])
    directory = write_artifact(tmp_path / "a", np.zeros((6, 275, 224), np.float32), [1, 2, 0, 0, 1, 0], CLASSES, MANIFEST, evidence)
    (directory / EVIDENCE_FILE).write_bytes((directory / EVIDENCE_FILE).read_bytes()[:100])
    with pytest.raises(CorruptArtifactError, match="evidence.npz' is missing or does not match its checksum"):
        read_artifact(directory)
    with pytest.raises(CorruptEvidenceError, match=r"cannot be read as per-image evidence .*: the artifact is damaged, write it again\.$"):
        read_evidence(directory / EVIDENCE_FILE, CLASSES, {})
    good = write_artifact(tmp_path / "b", np.zeros((6, 275, 224), np.float32), [1, 2, 0, 0, 1, 0], CLASSES, MANIFEST, evidence)
    with pytest.raises(CorruptEvidenceError, match=r"holds \{'Anger': 1, 'Disgust': 2.*but the manifest counts"):
        read_evidence(good / EVIDENCE_FILE, CLASSES, {"Anger": 1, "Disgust": 3, "Fear": 0, "Happiness": 0, "Sadness": 1, "Surprise": 0})
    manifest = json.loads((good / "manifest.json").read_text())
    del manifest["sha256"][EVIDENCE_FILE]
    (good / "manifest.json").write_text(json.dumps(sign_manifest(manifest)))
    with pytest.raises(CorruptArtifactError, match="has no sha256 for evidence.npz"):
        read_artifact(good)
    with pytest.raises(ValueError, match="the evidence holds"):
        write_artifact(tmp_path / "c", np.zeros((6, 275, 224), np.float32), [1, 1, 0, 0, 1, 0], CLASSES, MANIFEST, evidence)
