import numpy as np
import pandas as pd
import pytest

import ferlens.datamodules.readers.affectnet  # noqa: F401
from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from tests.datamodules.readers.layouts import affectnet as layout
from tests.datamodules.readers.layouts import synthetic_layout_faces

#: AffectNet's README: expression code -> name (None when outside every class set).
OFFICIAL = {0: "Neutral", 1: "Happiness", 2: "Sadness", 3: "Surprise", 4: "Fear", 5: "Disgust", 6: "Anger", 7: None, 8: None, 9: None, 10: None}
OUT_OF_SET = ["Contempt", "None", "Uncertain", "Non-Face"]
TRAINING = "Manually_Annotated_file_lists/training.csv"


@pytest.fixture(scope="module", params=["csv", "npy"])
def miniature(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"affectnet_{request.param}")
    faces = synthetic_layout_faces(CLASSES_7 * 2 + OUT_OF_SET, size=64)
    layout.write(root, faces, request.param)
    return root, faces, request.param


@pytest.mark.parametrize("classes", [CLASSES_7, CLASSES_6])
def test_labels_splits_boxes_and_landmarks_carried(miniature, classes):
    root, faces, kind = miniature
    index = read_dataset("affectnet", root, classes)
    by_key = {key: face for key, face in zip(layout.keys(faces, kind), faces, strict=True) if face.label in classes}
    assert [entry.key for entry in index.entries] == sorted(by_key)
    for entry in index.entries:
        face = by_key[entry.key]
        assert classes[entry.label] == face.label, entry.key
        assert entry.split == face.split, entry.key
        assert entry.subject is None and entry.path == root / entry.key and entry.path.is_file()
        assert entry.landmarks.dtype == np.float32 and entry.landmarks.shape == (68, 2)
        np.testing.assert_allclose(entry.landmarks, face.landmarks, atol=1e-3)
        if kind == "csv":
            np.testing.assert_allclose(entry.box, face.box, atol=1e-3)
        else:
            assert entry.box is None
    assert {entry.split for entry in index.entries} == {"train", "test"}
    expected_dropped = {name: 1 for name in OUT_OF_SET} | ({"Neutral": 2} if classes == CLASSES_6 else {})
    assert index.dropped == expected_dropped
    assert index.default_detector == ("box" if kind == "csv" else "whole")
    assert not index.has_subjects and index.has_landmarks and not index.missing


def test_official_expression_codes(tmp_path):
    faces = synthetic_layout_faces(["Anger"] * 11, size=32)
    for face in faces:
        face.split = "train"
    layout.write(tmp_path, faces)
    table = pd.read_csv(tmp_path / TRAINING, dtype=str)
    table["expression"] = [str(code) for code in OFFICIAL]
    table.to_csv(tmp_path / TRAINING, index=False)
    index = read_dataset("affectnet", tmp_path, CLASSES_7)
    classes = {entry.key: CLASSES_7[entry.label] for entry in index.entries}
    keys = layout.keys(faces)
    assert classes == {keys[code]: name for code, name in OFFICIAL.items() if name is not None}
    assert index.dropped == {"Contempt": 1, "None": 1, "Uncertain": 1, "Non-Face": 1}


def test_layout_auto_and_unknown_layout(tmp_path):
    faces = synthetic_layout_faces(CLASSES_7, size=32)
    layout.write(tmp_path / "csv", faces, "csv")
    layout.write(tmp_path / "npy", faces, "npy")
    assert read_dataset("affectnet", tmp_path / "csv", CLASSES_7).default_detector == "box"
    assert read_dataset("affectnet", tmp_path / "npy", CLASSES_7).default_detector == "whole"
    with pytest.raises(DataError, match="AffectNet image folder .*Manually_Annotated_Images' not found"):
        read_dataset("affectnet", tmp_path / "npy", CLASSES_7, layout="csv")
    with pytest.raises(DataError, match="AffectNet has no layout 'xml': set layout to 'auto', 'csv' or 'npy'"):
        read_dataset("affectnet", tmp_path / "npy", CLASSES_7, layout="xml")
    with pytest.raises(DataError, match="No AffectNet layout found under"):
        read_dataset("affectnet", tmp_path / "npy/train_set", CLASSES_7)
    (tmp_path / "npy/val_set/annotations").rename(tmp_path / "npy/val_set/notes")
    with pytest.raises(DataError, match="AffectNet annotation folder .*val_set/annotations' not found"):
        read_dataset("affectnet", tmp_path / "npy", CLASSES_7)


def test_missing_images_and_landmark_files_are_listed(tmp_path):
    faces = synthetic_layout_faces(CLASSES_7 * 2, size=32)
    layout.write(tmp_path / "csv", faces, "csv")
    layout.write(tmp_path / "npy", faces, "npy")
    csv_keys, npy_keys = layout.keys(faces, "csv"), layout.keys(faces, "npy")
    (tmp_path / "csv" / csv_keys[0]).unlink()
    (tmp_path / "npy" / npy_keys[0]).unlink()
    (tmp_path / "npy" / npy_keys[1].replace("images/1.jpg", "annotations/1_lnd.npy")).unlink()
    index = read_dataset("affectnet", tmp_path / "csv", CLASSES_7)
    assert index.missing == [csv_keys[0]] and len(index.entries) == 13
    index = read_dataset("affectnet", tmp_path / "npy", CLASSES_7)
    assert index.missing == sorted([npy_keys[0], "train_set/annotations/1_lnd.npy"]) and len(index.entries) == 12


@pytest.mark.parametrize(
    "row, message",
    [
        ("1/x.jpg,1,2,3,4,1;2;3,1,0,0", "not a path, a box, 68 points"),
        ("1/x.jpg,1,2,3,4,{points},happy,0,0", "not a path, a box, 68 points"),
        ("1/x.jpg,one,2,3,4,{points},1,0,0", "not a path, a box, 68 points"),
        ("1/x.jpg,1,2,3,4,{points},11,0,0", "not a path, a box, 68 points"),
        ("1/x.jpg,1,2,3,4,{points},1,0,0,7", "has 10 fields instead of 9"),
        ("1/x.jpg,1,2,3,4,{bad_points},1,0,0", "landmarks '1;x;1;1;"),
    ],
)
def test_malformed_csv_line_is_one_sentence_naming_file_and_line(tmp_path, row, message):
    faces = synthetic_layout_faces(["Anger", "Fear"], size=32)
    for face in faces:
        face.split = "train"
    layout.write(tmp_path, faces)
    points, bad_points = ";".join(["1"] * 136), ";".join(["1", "x"] + ["1"] * 134)
    with open(tmp_path / TRAINING, "a") as file:
        file.write(row.format(points=points, bad_points=bad_points) + "\n")
    with pytest.raises(DataError, match=rf"^Line 4 of '.*training.csv' .*{message}.*: fix or remove that line\.$") as error:
        read_dataset("affectnet", tmp_path, CLASSES_7)
    assert "\n" not in str(error.value)


def test_malformed_npy_annotations_name_the_file(tmp_path):
    faces = synthetic_layout_faces(["Anger", "Fear"], size=32)
    layout.write(tmp_path, faces, "npy")
    annotations = tmp_path / "train_set/annotations"
    np.save(annotations / "0_exp.npy", np.array("happy"))
    with pytest.raises(DataError, match=r"annotation '.*0_exp.npy' holds 'happy' instead of one expression code 0-10"):
        read_dataset("affectnet", tmp_path, CLASSES_7)
    np.save(annotations / "0_exp.npy", np.array(["6"], dtype=object))
    with pytest.raises(DataError, match=r"annotation '.*0_exp.npy' is not a readable .npy array"):
        read_dataset("affectnet", tmp_path, CLASSES_7)
    np.save(annotations / "0_exp.npy", np.array(6))
    np.save(annotations / "0_lnd.npy", np.zeros(10))
    with pytest.raises(DataError, match=r"landmarks '.*0_lnd.npy' hold 10 values"):
        read_dataset("affectnet", tmp_path, CLASSES_7)
