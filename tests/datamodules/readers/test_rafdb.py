import cv2
import numpy as np
import pytest

import ferlens.datamodules.readers.rafdb  # noqa: F401
from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from tests.datamodules.readers.layouts import rafdb as layout
from tests.datamodules.readers.layouts import synthetic_layout_faces

#: RAF-DB's README: label code -> expression.
OFFICIAL = {1: "Surprise", 2: "Fear", 3: "Disgust", 4: "Happiness", 5: "Sadness", 6: "Anger", 7: "Neutral"}
LABEL_LIST = "basic/EmoLabel/list_patition_label.txt"


@pytest.fixture(scope="module")
def miniature(tmp_path_factory):
    root = tmp_path_factory.mktemp("rafdb")
    faces = synthetic_layout_faces(CLASSES_7 * 2, size=64)
    layout.write(root, faces)
    return root, faces


def _aligned_key(name):
    return f"basic/Image/aligned/{name.removesuffix('.jpg')}_aligned.jpg"


def test_aligned_faces_labels_splits_and_no_subjects(miniature):
    root, faces = miniature
    index = read_dataset("rafdb", root, CLASSES_7)
    by_key = {_aligned_key(name): face for name, face in zip(layout.names(faces), faces, strict=True)}
    assert [entry.key for entry in index.entries] == sorted(by_key)
    for entry in index.entries:
        face = by_key[entry.key]
        assert index.class_names[entry.label] == face.label, entry.key
        assert entry.split == face.split, entry.key
        assert entry.path == root / entry.key and entry.path.is_file()
        assert entry.subject is None and entry.box is None and entry.landmarks is None and entry.pixels is None
    assert index.class_counts() == dict.fromkeys(CLASSES_7, 2)
    assert {entry.split for entry in index.entries} == {"train", "test"}
    assert index.default_detector == "whole" and not index.has_subjects and index.has_official_split
    assert cv2.imread(str(index.entries[0].path)).shape == (100, 100, 3)
    assert not index.dropped and not index.missing


def test_six_classes_drop_neutral_by_name(miniature):
    root, faces = miniature
    index = read_dataset("rafdb", root, CLASSES_6)
    assert index.dropped == {"Neutral": 2}
    by_key = {_aligned_key(name): face for name, face in zip(layout.names(faces), faces, strict=True)}
    assert len(index.entries) == 12
    for entry in index.entries:
        assert CLASSES_6[entry.label] == by_key[entry.key].label, entry.key


def test_official_label_codes(tmp_path):
    faces = synthetic_layout_faces(["Anger"] * 7, size=32)
    for face in faces:
        face.split = "train"
    layout.write(tmp_path, faces)
    names = layout.names(faces)
    (tmp_path / LABEL_LIST).write_text("".join(f"{name} {code}\n" for name, code in zip(names, OFFICIAL, strict=True)))
    index = read_dataset("rafdb", tmp_path, CLASSES_7)
    classes = {entry.key: CLASSES_7[entry.label] for entry in index.entries}
    assert classes == {_aligned_key(name): OFFICIAL[code] for name, code in zip(names, OFFICIAL, strict=True)}


def test_original_images_carry_the_shipped_boxes(miniature):
    root, faces = miniature
    index = read_dataset("rafdb", root, CLASSES_7, images="original")
    by_key = {f"basic/Image/original/{name}": face for name, face in zip(layout.names(faces), faces, strict=True)}
    assert [entry.key for entry in index.entries] == sorted(by_key)
    for entry in index.entries:
        face = by_key[entry.key]
        np.testing.assert_allclose(entry.box, face.box, atol=1e-3)
        assert index.class_names[entry.label] == face.label and entry.split == face.split
    assert index.default_detector == "box" and index.has_boxes


def test_missing_images_and_box_files_are_listed(tmp_path):
    faces = synthetic_layout_faces(CLASSES_7 * 2, size=32)
    layout.write(tmp_path, faces)
    first, second = layout.names(faces)[:2]
    (tmp_path / _aligned_key(first)).unlink()
    (tmp_path / f"basic/Annotation/boundingbox/{second.removesuffix('.jpg')}_boundingbox.txt").unlink()
    aligned = read_dataset("rafdb", tmp_path, CLASSES_7)
    assert aligned.missing == [_aligned_key(first)] and len(aligned.entries) == 13
    original = read_dataset("rafdb", tmp_path, CLASSES_7, images="original")
    assert original.missing == [f"basic/Annotation/boundingbox/{second.removesuffix('.jpg')}_boundingbox.txt"]
    assert f"basic/Image/original/{second}" not in {entry.key for entry in original.entries} and len(original.entries) == 13


@pytest.mark.parametrize("line", ["train_00099.jpg", "train_00099.jpg 8", "train_00099.jpg five", "val_00099.jpg 5", "train_00001.jpg 5"])
def test_malformed_or_repeated_line_is_one_sentence_naming_file_and_line(tmp_path, line):
    faces = synthetic_layout_faces(["Anger", "Neutral"], size=32)
    layout.write(tmp_path, faces)
    label_list = tmp_path / LABEL_LIST
    label_list.write_text(label_list.read_text() + line + "\n")
    with pytest.raises(DataError, match=r"^Line 3 of '.*list_patition_label.txt' .*: (fix or )?remove") as error:
        read_dataset("rafdb", tmp_path, CLASSES_7)
    assert "\n" not in str(error.value) and str(error.value).endswith(".")


def test_bad_box_file_and_option_errors(tmp_path):
    faces = synthetic_layout_faces(["Anger"], size=32)
    layout.write(tmp_path, faces)
    with pytest.raises(DataError, match="has no image set 'cropped'"):
        read_dataset("rafdb", tmp_path, CLASSES_7, images="cropped")
    (tmp_path / "basic/Annotation/boundingbox/train_00001_boundingbox.txt").write_text("1 2 3\n")
    with pytest.raises(DataError, match=r"^Line 1 of '.*train_00001_boundingbox.txt' reads '1 2 3'"):
        read_dataset("rafdb", tmp_path, CLASSES_7, images="original")
    (tmp_path / LABEL_LIST).unlink()
    with pytest.raises(DataError, match="RAF-DB label list .* not found: set data.root"):
        read_dataset("rafdb", tmp_path, CLASSES_7)
