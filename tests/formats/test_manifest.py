"""The heatmap manifest's typed schema: round trip, every version written before, one-sentence refusals."""

import copy
import json

import numpy as np
import pytest

from ferlens.analysis.sources.base import Filters
from ferlens.analysis.sources.local import collect_local
from ferlens.analysis.sources.wandb_project import collect_wandb
from ferlens.faces.template import template_sha256
from ferlens.formats.heatmap_artifact import CorruptArtifactError, read_artifact, write_artifact
from ferlens.formats.manifest import (
    MANIFEST_VERSION,
    EvidenceInfo,
    FaithfulnessCheck,
    HeatmapManifest,
    RandomisationCheck,
    RunInfo,
    SaliencyInfo,
    SelectionInfo,
    TemplateInfo,
    WarpInfo,
    WeightsInfo,
)
from ferlens.user_errors import UserError
from tests.analysis.helpers import make_artifact
from tests.analysis.test_sources import FakeApi, FakeArtifact, FakeRun

CLASSES = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]
COUNTS = {"Anger": 5, "Disgust": 0, "Fear": 2, "Happiness": 7, "Sadness": 3, "Surprise": 1}
SHA = {"heatmaps.npy": "0" * 64, **{f"{kind}/{name}.png": "1" * 64 for kind in ("png", "jet") for name in CLASSES}}
SOURCE = "runs/a/heatmaps/gradcampp/manifest.json"

#: a manifest as the first GlobalSaliency wrote it (09ed74e): no version, weights, saliency key,
#: split, run identity without W&B, input, AU guidance, template hash, zero maps, evidence, checks
FIRST = {
    "run": {"id": None, "name": None, "model": "weinet", "pretrained": False, "dataset": "synthetic", "fold": 2, "seed": 42, "epoch": 11},
    "saliency": {"method": "gradcampp", "params": {}},
    "selection": {"target": "predicted", "correct_only": False, "per_class": 100, "seed": 42},
    "warp": {"mode": "nearest", "triangulation": "template"},
    "skipped_no_landmarks": 0,
    "code_version": "09ed74eec9c6867a368b441683a9cee1c4108627",
    "schema_version": 1,
    "template": {"name": "gaya-morey-89", "width": 224, "height": 275},
    "classes": CLASSES,
    "counts": COUNTS,
    "empty_classes": ["Disgust"],
    "sha256": SHA,
}

#: the last manifest before the typed schema (f94e5e8 on): everything but ``version``
LAST = {
    "run": {
        "id": "abc123", "name": "brisk-sun-3", "sweep": "sweep42", "dir": "/runs/a", "started": "2026-05-01T09:30:00+00:00", "model": "weinet",
        "pretrained": True, "dataset": "rafdb", "fold": 2, "seed": 42, "epoch": 7, "input_size": 224, "normalization": "imagenet",
        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "au_guidance": 9.0, "au_layers": ["layer4"],
    },
    "weights": {"source": "best checkpoint", "checkpoint": "/runs/a/checkpoints/epoch=007-acc0.9100.ckpt", "epoch": 7, "val_acc": 0.91},
    "saliency": {"key": "gradcampp", "method": "gradcampp", "params": {"relu": True}},
    "selection": {"split": "test", "target": "predicted", "correct_only": False, "per_class": None, "seed": 42},
    "warp": {"mode": "nearest", "triangulation": "face"},
    "skipped_no_landmarks": 1,
    "face_preparation": {name: {"images": 10, "prepared": 9, "dropped": 1} for name in CLASSES},
    "skipped_samples": ["faces/anger/003.png"],
    "code_version": "f94e5e8",
    "zero_maps": {name: 0 for name in CLASSES},
    "correct_share": {name: (None if name == "Disgust" else 0.5) for name in CLASSES},
    "faithfulness": {
        "steps": 20, "fractions": [0.1, 0.5, 0.9], "noise": 0.01, "baseline": "black (0)",
        "per_class": {"Anger": {"counts": 5, "deletion_auc": 0.2, "deletion_curve": [1.0, 0.5, 0.1], "normalised_counts": 5, "normalised_deletion_auc": 0.3}},
        "overall": {"counts": 18, "deletion_auc": 0.25, "insertion_auc": 0.6, "road_combined": 0.2, "normalised_counts": 18, "normalised_deletion_auc": 0.3},
        "normalised": "each image's score divided by its unperturbed target probability",
    },
    "randomisation": {
        "layers": ["fc", "layer4"], "skipped": ["bn1"], "draws": 1, "threshold": 0.5,
        "per_class": {"Anger": {"counts": 2, "cascading_spearman": [0.9, 0.1]}},
        "overall": {"counts": 12, "cascading_spearman": [0.9, 0.1], "cascading_ssim": [0.8, 0.2], "independent_spearman": [0.7, 0.6]},
        "fully_randomised_spearman": 0.1, "fails": False,
    },
    "evidence": {
        "file": "evidence.npz", "images": 18, "grid": [55, 56], "block": [5, 4],
        "dtype": "float16 maps scaled by each image's maximum (float32 scale)", "subjects_known": True,
    },
    "schema_version": 1,
    "template": {"name": "gaya-morey-89", "width": 224, "height": 275, "points_sha256": template_sha256()},
    "classes": CLASSES,
    "counts": COUNTS,
    "empty_classes": ["Disgust"],
    "sha256": {**SHA, "evidence.npz": "2" * 64},
}  # fmt: skip


def _refusal(data: dict, partial: bool = False) -> str:
    with pytest.raises(CorruptArtifactError) as refused:
        HeatmapManifest.from_dict(data, SOURCE, partial=partial)
    message = str(refused.value)
    assert isinstance(refused.value, UserError) and message.count(". ") == 0 and message.endswith(".")  # one sentence
    return message


def test_every_entry_round_trips_through_json():
    manifest = HeatmapManifest.from_dict(LAST, SOURCE)
    assert manifest.version == 1 and manifest.run.au_layers == ("layer4",) and manifest.run.mean == (0.485, 0.456, 0.406)
    assert manifest.weights == WeightsInfo(source="best checkpoint", checkpoint=LAST["weights"]["checkpoint"], epoch=7, val_acc=0.91)
    assert manifest.randomisation.layers == ("fc", "layer4") and manifest.faithfulness.fractions == (0.1, 0.5, 0.9)
    assert manifest.evidence == EvidenceInfo(file="evidence.npz", images=18, grid=(55, 56), block=(5, 4), dtype=LAST["evidence"]["dtype"], subjects_known=True)
    written = manifest.replace(version=MANIFEST_VERSION).to_dict()
    assert written == {**LAST, "version": MANIFEST_VERSION}  # the same keys and values as before, plus the version
    again = HeatmapManifest.from_dict(json.loads(json.dumps(written)), SOURCE)
    assert again == manifest.replace(version=MANIFEST_VERSION) and again.to_dict() == written
    assert again.empty_classes == ["Disgust"] and again.class_counts() == [5, 0, 2, 7, 3, 1] and again.saliency.name == "gradcampp"


def test_a_manifest_built_in_code_round_trips():
    manifest = HeatmapManifest(
        run=RunInfo(model="smallcnn", pretrained=False, seed=0, epoch=3, fold=1, input_size=64, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
        weights=WeightsInfo(source="final weights", epoch=3),
        saliency=SaliencyInfo(key="lime", method="lime", params={"num_samples": 40, "seed": 0}),
        selection=SelectionInfo(split="val", target="label", correct_only=True, seed=0),
        warp=WarpInfo(mode="bilinear", triangulation="template"),
        skipped_no_landmarks=0,
        code_version="unknown",
        faithfulness=FaithfulnessCheck(steps=5, fractions=(0.5,), noise=0.01, baseline="black (0)", per_class={}, overall={"counts": 2}),
        randomisation=RandomisationCheck(
            layers=("fc",), skipped=(), draws=1, threshold=0.5, per_class={}, overall={"counts": 2}, fully_randomised_spearman=0.2, fails=False
        ),
        classes=tuple(CLASSES),
        counts=COUNTS,
        sha256=SHA,
    )
    assert manifest.version == MANIFEST_VERSION and manifest.template == TemplateInfo.current()
    written = manifest.to_dict()
    assert written["version"] == MANIFEST_VERSION and written["schema_version"] == 1 and written["run"]["mean"] == [0.5, 0.5, 0.5]
    assert "evidence" not in written and written["face_preparation"] is None  # left out: no evidence file; null: no face preparation
    assert HeatmapManifest.from_dict(json.loads(json.dumps(written)), SOURCE) == manifest


def test_the_first_manifests_without_a_version_still_read_with_their_defaults():
    manifest = HeatmapManifest.from_dict(copy.deepcopy(FIRST), SOURCE)
    assert manifest.version == 1 and manifest.run.model == "weinet" and manifest.run.fold == 2 and manifest.run.epoch == 11
    assert (manifest.run.sweep, manifest.run.dir, manifest.run.started, manifest.run.input_size, manifest.run.au_guidance) == (None,) * 5
    assert manifest.weights is None and manifest.saliency.key is None and manifest.saliency.name == "gradcampp"
    assert manifest.selection.split is None and manifest.selection.per_class == 100
    assert manifest.template == TemplateInfo(name="gaya-morey-89", width=224, height=275) and "points_sha256" not in manifest.template.to_dict()
    assert (manifest.skipped_samples, manifest.zero_maps, manifest.correct_share, manifest.face_preparation) == (None,) * 4
    assert (manifest.evidence, manifest.faithfulness, manifest.randomisation) == (None,) * 3
    assert manifest.empty_classes == ["Disgust"] and manifest.class_counts() == [5, 0, 2, 7, 3, 1]


def test_a_faithfulness_check_written_before_the_normalised_scores_still_reads():
    old = copy.deepcopy(LAST)
    del old["faithfulness"]["normalised"]
    for values in (old["faithfulness"]["overall"], *old["faithfulness"]["per_class"].values()):
        for name in [name for name in values if name.startswith("normalised_")]:
            del values[name]
    faithfulness = HeatmapManifest.from_dict(old, SOURCE).faithfulness
    assert faithfulness.normalised is None and faithfulness.overall == {"counts": 18, "deletion_auc": 0.25, "insertion_auc": 0.6, "road_combined": 0.2}
    assert HeatmapManifest.from_dict(LAST, SOURCE).faithfulness.overall["normalised_deletion_auc"] == 0.3


def test_an_old_artifact_on_disk_reads_and_is_analysed(tmp_path):
    """A first-version artifact: the files as written then, its manifest without any later entry."""
    run = RunInfo(model="weinet", pretrained=False, seed=42, epoch=11)
    new = HeatmapManifest(
        run=run,
        saliency=SaliencyInfo(method="gradcampp"),
        selection=SelectionInfo(target="predicted", correct_only=False, per_class=100, seed=42),
        warp=WarpInfo(mode="nearest", triangulation="template"),
        skipped_no_landmarks=0,
        code_version="x",
    )
    heatmaps = np.random.default_rng(0).random((6, 275, 224)).astype(np.float32)
    directory = write_artifact(tmp_path / "run" / "heatmaps" / "gradcampp", heatmaps, list(COUNTS.values()), CLASSES, new)
    written = json.loads((directory / "manifest.json").read_text())
    (directory / "manifest.json").write_text(json.dumps({**FIRST, "sha256": written["sha256"]}, indent=2, sort_keys=True))
    artifact = read_artifact(directory)
    assert artifact.manifest.version == 1 and artifact.manifest.weights is None and artifact.classes == CLASSES
    np.testing.assert_array_equal(artifact.heatmaps, heatmaps)
    (found,) = collect_local([tmp_path], Filters()).sets
    assert found.key == ("weinet", "gradcampp", "2") and found.counts == [5, 0, 2, 7, 3, 1] and found.pretrained is False
    assert found.run.started is None and found.started is not None  # no run.started: the directory's time
    assert found.template == {"name": "gaya-morey-89", "width": 224, "height": 275}  # no points hash to compare


def test_w_and_b_metadata_of_older_runs_lacks_what_write_artifact_completes():
    metadata = {key: value for key, value in FIRST.items() if key not in ("schema_version", "template", "classes", "counts", "empty_classes", "sha256")}
    manifest = HeatmapManifest.from_dict(metadata, SOURCE, partial=True)
    assert manifest.run.model == "weinet" and manifest.classes == () and manifest.counts == {}
    assert _refusal(metadata) == f"'{SOURCE}' has schema version None, this ferlens reads 1: rewrite it with this version."


def test_the_w_and_b_source_reads_older_metadata_and_skips_metadata_that_fails_the_schema(tmp_path):
    old = FakeArtifact(make_artifact(tmp_path / "r1", "weinet", 1, seed=1), 0)
    completed = ("schema_version", "template", "classes", "counts", "empty_classes", "sha256", "version")
    old.metadata = {key: value for key, value in old.metadata.items() if key not in completed}  # logged before version 2
    broken = FakeArtifact(make_artifact(tmp_path / "r2", "songnet", 1, seed=2), 0)
    del broken.metadata["run"]["model"]
    found = collect_wandb("team/ferlens", Filters(), cache_dir=tmp_path / "cache", api=FakeApi([FakeRun([old, broken])]))
    assert [s.key for s in found.sets] == [("weinet", "gradcam", "1")] and (old.downloads, broken.downloads) == (1, 0)
    reason = f"The manifest '{broken.name} (W&B metadata)' lacks run.model: the artifact is incomplete, write it again."
    assert found.skipped == [(f"team/ferlens/{broken.name}", reason)]
    with pytest.raises(UserError, match="lacks run.model"):
        collect_wandb("team/ferlens", Filters(), cache_dir=tmp_path / "cache", api=FakeApi([FakeRun([broken])]), strict=True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["run"].pop("model"), "lacks run.model: the artifact is incomplete, write it again."),
        (lambda m: (m.pop("warp"), m.pop("classes")), "lacks warp, classes: the artifact is incomplete, write it again."),
        (lambda m: m["run"].update(fold="2"), "gives run.fold as a string, expected an integer or null: the artifact is damaged, write it again."),
        (lambda m: m["run"].update(pretrained=None), "gives run.pretrained as null, expected true or false: the artifact is damaged, write it again."),
        (lambda m: m["counts"].update(Fear=2.5), "gives counts.Fear as a number, expected an integer: the artifact is damaged, write it again."),
        (lambda m: m["run"].update(mean=[0.5, "x", 0.5]), "gives run.mean[1] as a string, expected a number: the artifact is damaged, write it again."),
        (lambda m: m["evidence"].update(grid=[55]), "gives evidence.grid as a list, expected a list of two integers: the artifact is damaged, write it again."),
        (lambda m: m.update(weights=[]), "gives weights as a list, expected an object or null: the artifact is damaged, write it again."),
        (lambda m: m["counts"].pop("Anger"), "gives no count for Anger: the artifact is incomplete, write it again."),
        (
            lambda m: m.update(version=MANIFEST_VERSION + 1),
            f"has version {MANIFEST_VERSION + 1}, this ferlens reads versions 1 to {MANIFEST_VERSION}: upgrade ferlens to read it.",
        ),
    ],
)  # fmt: skip
def test_a_missing_key_or_a_wrong_type_is_refused_in_one_sentence_naming_it(edit, message):
    data = copy.deepcopy(LAST)
    edit(data)
    assert _refusal(data) == f"The manifest '{SOURCE}' {message}"


def test_a_manifest_that_is_not_an_object_is_refused():
    assert _refusal([]) == f"The manifest '{SOURCE}' is not a JSON object: the artifact is damaged, download or write it again."
