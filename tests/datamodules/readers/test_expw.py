import numpy as np
import pytest

import ferlens.datamodules.readers.expw  # noqa: F401
from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from tests.datamodules.readers.layouts import expw as layout
from tests.datamodules.readers.layouts import synthetic_layout_faces

#: ExpW's README: label code -> expression.
OFFICIAL = {0: "Anger", 1: "Disgust", 2: "Fear", 3: "Happiness", 4: "Sadness", 5: "Surprise", 6: "Neutral"}
LABEL_LIST = "label/label.lst"


@pytest.fixture(scope="module")
def miniature(tmp_path_factory):
    root = tmp_path_factory.mktemp("expw")
    faces = synthetic_layout_faces(CLASSES_7 * 2, size=64)
    layout.write(root, faces)
    return root, faces


@pytest.mark.parametrize("classes", [CLASSES_7, CLASSES_6])
def test_labels_and_boxes_carried_without_split_or_subjects(miniature, classes):
    root, faces = miniature
    index = read_dataset("expw", root, classes)
    by_key = {key: face for key, face in zip(layout.keys(faces), faces, strict=True) if face.label in classes}
    assert [entry.key for entry in index.entries] == sorted(by_key)
    for entry in index.entries:
        face = by_key[entry.key]
        assert classes[entry.label] == face.label, entry.key
        np.testing.assert_allclose(entry.box, face.box, atol=1e-3)
        assert entry.path == root / "image/origin" / entry.key.split("#")[0] and entry.path.is_file()
        assert entry.split is None and entry.subject is None and entry.landmarks is None
    assert index.dropped == ({"Neutral": 2} if classes == CLASSES_6 else {})
    assert index.default_detector == "box" and index.has_boxes
    assert not index.has_subjects and not index.has_official_split and not index.missing and not index.notes


def test_official_codes_several_faces_per_image_and_min_confidence(tmp_path):
    faces = synthetic_layout_faces(["Anger"], size=48)
    layout.write(tmp_path, faces)
    name = layout.keys(faces)[0].split("#")[0]
    # face ids 1..7 of the same image, label codes 0..6, boxes (left, top, right, bottom) = (code, 10 + code, 30, 40)
    lines = [f"{name} {code + 1} {10 + code} {code} 30 40 {90.5 - code} {code}\n" for code in OFFICIAL]
    (tmp_path / LABEL_LIST).write_text("".join(lines))
    index = read_dataset("expw", tmp_path, CLASSES_7)
    assert [entry.key for entry in index.entries] == [f"{name}#{code + 1}" for code in OFFICIAL]
    for code, entry in zip(OFFICIAL, index.entries, strict=True):
        assert CLASSES_7[entry.label] == OFFICIAL[code], entry.key
        assert entry.box == (code, 10 + code, 30, 40) and entry.path == tmp_path / "image/origin" / name
    (tmp_path / LABEL_LIST).write_text("".join(lines + [f"{name} 8 1 2 3 4 20 3\n", f"{name} 9 1 2 3 4 10 3\n"]))
    confident = read_dataset("expw", tmp_path, CLASSES_6, min_confidence=85.0)
    assert [entry.key for entry in confident.entries] == [f"{name}#{code + 1}" for code in range(6)]
    assert not confident.dropped  # the neutral face (confidence 84.5) is left out before its label is looked at
    assert confident.notes == ["3 faces with detection confidence below 85.0 left out"]


def test_missing_images_are_listed_once(tmp_path):
    faces = synthetic_layout_faces(CLASSES_7 * 2, size=32)
    layout.write(tmp_path, faces)
    name = layout.keys(faces)[0].split("#")[0]
    with open(tmp_path / LABEL_LIST, "a") as file:
        file.write(f"{name} 1 1 2 3 4 50 0\n")
    (tmp_path / "image/origin" / name).unlink()
    index = read_dataset("expw", tmp_path, CLASSES_7)
    assert index.missing == [f"image/origin/{name}"] and len(index.entries) == 13
    assert not any(entry.key.startswith(name) for entry in index.entries)


@pytest.mark.parametrize(
    "line",
    ["expw_0000.jpg 0 1 2 3 4 50.0", "expw_0009.jpg 0 1 2 3 4 50.0 7", "x.jpg 0 top 2 3 4 50.0 1", "x.jpg 0 1 2 3 4 50.0 happy", "expw_0000.jpg 0 1 2 3 4 5 1"],
)
def test_malformed_or_repeated_line_is_one_sentence_naming_file_and_line(tmp_path, line):
    layout.write(tmp_path, synthetic_layout_faces(["Anger", "Fear"], size=32))
    with open(tmp_path / LABEL_LIST, "a") as file:
        file.write(line + "\n")
    with pytest.raises(DataError, match=r"^Line 3 of '.*label.lst' .*: (fix or )?remove .*line\.$") as error:
        read_dataset("expw", tmp_path, CLASSES_7)
    assert "\n" not in str(error.value)


def test_missing_label_list_or_image_folder(tmp_path):
    layout.write(tmp_path, synthetic_layout_faces(["Anger"], size=32))
    (tmp_path / "image/origin").rename(tmp_path / "image/faces")
    with pytest.raises(DataError, match="ExpW image folder .* not found: unpack the origin images there"):
        read_dataset("expw", tmp_path, CLASSES_7)
    (tmp_path / LABEL_LIST).unlink()
    with pytest.raises(DataError, match="ExpW label list .* not found: set data.root"):
        read_dataset("expw", tmp_path, CLASSES_7)
