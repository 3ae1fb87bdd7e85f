import shutil

import cv2
import pytest

import ferlens.datamodules.readers.jaffe  # noqa: F401  (registers the reader)
from ferlens.datamodules.readers import read_dataset
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from tests.datamodules.readers.layouts import jaffe, synthetic_layout_faces

LABELS = CLASSES_7 + ["Contempt", "Sadness", "Surprise", "Neutral"]


@pytest.fixture(scope="module")
def faces():
    return synthetic_layout_faces(LABELS, size=64)


@pytest.mark.parametrize("classes", [CLASSES_6, CLASSES_7], ids=["6", "7"])
def test_jaffe_labels_and_subjects(tmp_path, faces, classes):
    jaffe.write(tmp_path, faces)
    index = read_dataset("jaffe", tmp_path, classes)
    expected = {path: face for path, face in zip(jaffe.file_paths(faces), faces, strict=True) if face.label in classes}
    for name in classes:
        assert {e.key for e in index.entries if index.class_names[e.label] == name} == {k for k, face in expected.items() if face.label == name}, name
    assert [e.key for e in index.entries] == sorted(expected)
    assert len(index.entries) == (10 if "Neutral" in classes else 8)
    assert index.dropped == ({} if "Neutral" in classes else {"Neutral": 2})
    assert index.notes == ["JAFFE images with unknown expression codes ignored: CO 1"]
    for entry in index.entries:
        assert entry.subject == jaffe.subject_id(expected[entry.key].subject)
        assert entry.path == tmp_path / entry.key and entry.landmarks is None and entry.split is None
    assert index.default_detector == "dlib" and not index.missing
    assert cv2.imread(str(index.entries[0].path), cv2.IMREAD_UNCHANGED).shape == (64, 64)  # gray TIFF, as JAFFE's


def test_jaffe_accepts_tif_and_subfolders_and_counts_misnamed_images(tmp_path, faces):
    jaffe.write(tmp_path, faces)
    first = jaffe.file_paths(faces)[0]
    (tmp_path / "extra").mkdir()
    shutil.copy(tmp_path / first, tmp_path / "extra" / "YM.HA3.219.tif")
    shutil.copy(tmp_path / first, tmp_path / "extra" / "photo.tiff")
    shutil.copy(tmp_path / first, tmp_path / "extra" / "KA.AN1.png")
    index = read_dataset("jaffe", tmp_path, CLASSES_7)
    added = next(e for e in index.entries if e.key == "extra/YM.HA3.219.tif")
    assert index.class_names[added.label] == "Happiness" and added.subject == "YM"
    assert len(index.entries) == 11
    assert "2 images not named like KA.AN1.39.tiff ignored (extra/KA.AN1.png, extra/photo.tiff)" in index.notes
