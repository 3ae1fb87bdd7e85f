import hashlib
import json

import cv2
import numpy as np
import pytest

from ferlens.faces.template import template_points, template_sha256
from ferlens.formats.heatmap_artifact import CorruptArtifactError, artifact_files, read_artifact, sign_manifest, stretch, write_artifact
from ferlens.formats.manifest import MANIFEST_VERSION, HeatmapManifest
from tests.analysis.helpers import made_up_manifest

CLASSES = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]


def _write(tmp_path):
    heatmaps = np.random.default_rng(0).random((6, 275, 224)).astype(np.float32)
    heatmaps[4] = 0.0  # an empty class
    manifest = made_up_manifest("gradcam", model="weinet", pretrained=False, seed=0, epoch=0)
    return heatmaps, write_artifact(tmp_path / "gradcam", heatmaps, [5, 3, 2, 7, 0, 1], CLASSES, manifest)


def test_write_read_verify_round_trip(tmp_path):
    heatmaps, directory = _write(tmp_path)
    artifact = read_artifact(directory)
    np.testing.assert_array_equal(artifact.heatmaps, heatmaps)
    assert artifact.classes == CLASSES
    assert isinstance(artifact.manifest, HeatmapManifest) and artifact.manifest.version == MANIFEST_VERSION
    assert artifact.manifest.counts["Happiness"] == 7 and artifact.manifest.empty_classes == ["Sadness"]
    assert artifact.manifest.class_counts() == [5, 3, 2, 7, 0, 1] and artifact.manifest.classes == tuple(CLASSES)
    assert artifact.manifest.template.to_dict() == {"name": "gaya-morey-89", "width": 224, "height": 275, "points_sha256": template_sha256()}
    assert sorted(artifact.manifest.sha256) == sorted(artifact_files(CLASSES)) and len(artifact_files(CLASSES)) == 13
    assert artifact.manifest.run.model == "weinet"
    on_disk = json.loads((directory / "manifest.json").read_text())  # the keys written before the typed schema, plus version
    assert on_disk["version"] == MANIFEST_VERSION and on_disk["schema_version"] == 1 and on_disk["empty_classes"] == ["Sadness"]
    assert on_disk["counts"]["Happiness"] == 7 and on_disk["run"]["model"] == "weinet" and on_disk["template"]["points_sha256"] == template_sha256()
    gray = cv2.imread(str(directory / "png" / "Anger.png"), cv2.IMREAD_UNCHANGED)
    assert gray.shape == (275, 224) and gray.dtype == np.uint8 and gray.min() == 0 and gray.max() == 255
    np.testing.assert_array_equal(gray, stretch(heatmaps[0]))
    assert cv2.imread(str(directory / "png" / "Sadness.png"), cv2.IMREAD_UNCHANGED).max() == 0  # constant stays 0
    assert cv2.imread(str(directory / "jet" / "Fear.png")).shape == (275, 224, 3)


def test_jet_pngs_draw_the_template_face_in_white_over_the_heatmap(tmp_path):
    heatmaps, directory = _write(tmp_path)
    x, y = np.round(template_points()[:68]).astype(int).T
    jet = cv2.imread(str(directory / "jet" / "Fear.png"))
    white = (jet == 255).all(axis=2)
    assert white[y, x].all() and 0.01 < white.mean() < 0.05  # every landmark on the outline; thin lines
    colour = cv2.applyColorMap(stretch(heatmaps[2]), cv2.COLORMAP_JET)
    np.testing.assert_array_equal(jet[~white], colour[~white])  # the heatmap everywhere else
    assert not (colour == 255).all(axis=2).any()  # JET has no white: outline pixels are unambiguous
    empty = cv2.imread(str(directory / "jet" / "Sadness.png"))  # count 0: no map, gray with the outline
    assert (empty[y, x] == 255).all() and np.median(empty) == 128


def test_artifacts_with_bare_jet_pngs_still_read(tmp_path):
    heatmaps, directory = _write(tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text())
    for name in CLASSES:  # as written before the outline: the colour field alone
        path = directory / "jet" / f"{name}.png"
        cv2.imwrite(str(path), cv2.applyColorMap(cv2.imread(str(directory / "png" / f"{name}.png"), cv2.IMREAD_GRAYSCALE), cv2.COLORMAP_JET))
        manifest["sha256"][f"jet/{name}.png"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(sign_manifest(manifest)))
    np.testing.assert_array_equal(read_artifact(directory).heatmaps, heatmaps)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "png" / "Fear.png").write_bytes(b"x"), "does not match its checksum"),
        (lambda d: (d / "heatmaps.npy").unlink(), "is missing or does not match"),
        (lambda d: (d / "manifest.json").write_text("{"), "is not valid JSON"),
        (lambda d: _edit_manifest(d, lambda m: m.update(schema_version=99)), "schema version 99"),
        (lambda d: (d / "manifest.json").unlink(), "is not a heatmap artifact"),
    ],
)
def test_damaged_artifacts_are_refused_in_one_sentence(tmp_path, damage, message):
    _, directory = _write(tmp_path)
    damage(directory)
    with pytest.raises(CorruptArtifactError, match=message):
        read_artifact(directory)


def _edit_manifest(directory, edit) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    edit(manifest)
    (directory / "manifest.json").write_text(json.dumps(sign_manifest(manifest)))  # signed again: what is checked is the edited content


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["sha256"].pop("heatmaps.npy"), r"has no sha256 for heatmaps\.npy: the artifact cannot be verified"),
        (lambda m: m["sha256"].pop("jet/Fear.png"), r"has no sha256 for jet/Fear\.png: the artifact cannot be verified"),
        (lambda m: m.pop("sha256"), r"lacks sha256: the artifact is incomplete"),
        (lambda m: m["counts"].pop("Anger"), r"gives no count for Anger"),
        (lambda m: m["template"].pop("height"), r"lacks template\.height: the artifact is incomplete"),
        (lambda m: m["run"].pop("model"), r"manifest\.json' lacks run\.model: the artifact is incomplete, write it again\.$"),
        (lambda m: m["run"].update(fold="two"), r"gives run\.fold as a string, expected an integer or null: the artifact is damaged, write it again\.$"),
        (lambda m: m["sha256"].update({"../outside.txt": "0" * 64}), r"lists files outside the artifact \(\.\./outside\.txt\)"),
    ],
)
def test_incomplete_manifests_are_refused_in_one_sentence(tmp_path, edit, message):
    _, directory = _write(tmp_path)
    _edit_manifest(directory, edit)
    with pytest.raises(CorruptArtifactError, match=message) as refused:
        read_artifact(directory)
    assert str(refused.value).count(". ") == 0 and str(refused.value).endswith(".")  # one sentence


def _rewrite(directory, name: str, data: bytes) -> None:
    """Replace one file and update its sha256 in a re-signed manifest, as a careful hand would."""
    (directory / name).write_bytes(data)
    _edit_manifest(directory, lambda m: m["sha256"].update({name: hashlib.sha256(data).hexdigest()}))


def test_a_hand_edited_manifest_is_refused(tmp_path):
    """Changing one class count from 61 to 999 by hand gave rc 0 and a report saying n = 999."""
    _, directory = _write(tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["counts"]["Anger"] = 999
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    with pytest.raises(CorruptArtifactError, match=r"manifest\.json' was edited after it was written \(its content does not match its manifest_sha256\)"):
        read_artifact(directory)
    del manifest["manifest_sha256"]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptArtifactError, match=r"has no manifest_sha256: it cannot be verified"):
        read_artifact(directory)
    (directory / "manifest.json").write_text(json.dumps(sign_manifest(manifest), indent=None))  # signed again (and unindented): read
    assert read_artifact(directory).manifest.counts["Anger"] == 999


def test_a_truncated_or_non_finite_heatmap_array_is_one_sentence(tmp_path):
    heatmaps, directory = _write(tmp_path)
    whole = (directory / "heatmaps.npy").read_bytes()
    _rewrite(directory, "heatmaps.npy", whole[: len(whole) // 2])
    with pytest.raises(CorruptArtifactError, match=r"heatmaps\.npy' is not a readable array \(.*\): the artifact is damaged, write it again\.$"):
        read_artifact(directory)
    broken = heatmaps.copy()
    broken[2, 10, 10] = np.nan
    np.save(tmp_path / "nan.npy", broken)
    _rewrite(directory, "heatmaps.npy", (tmp_path / "nan.npy").read_bytes())
    with pytest.raises(CorruptArtifactError, match=r"heatmaps\.npy' has NaN or infinite values in the heatmap of Fear: write the artifact again\.$"):
        read_artifact(directory)
    np.save(tmp_path / "small.npy", heatmaps[:, :10])
    _rewrite(directory, "heatmaps.npy", (tmp_path / "small.npy").read_bytes())
    with pytest.raises(CorruptArtifactError, match=r"holds an array of shape 6 x 10 x 224, not 6 x 275 x 224 \(classes x template height x width\)"):
        read_artifact(directory)
