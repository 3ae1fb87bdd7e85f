import numpy as np
import pytest

from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.readers.csv_manifest import read_csv_manifest
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from tests.datamodules.readers.layouts import csv_manifest, synthetic_layout_faces

LABELS = CLASSES_7 + ["Contempt", "Anger", "Neutral", "Surprise"]


@pytest.fixture(scope="module")
def faces():
    return synthetic_layout_faces(LABELS, size=48)


@pytest.mark.parametrize("classes", [CLASSES_6, CLASSES_7], ids=["6", "7"])
def test_csv_labels_subjects_split_landmarks_and_boxes(tmp_path, faces, classes):
    csv_manifest.write(tmp_path, faces)
    index = read_dataset("csv", tmp_path, classes)
    expected = {path: face for path, face in zip(csv_manifest.file_paths(faces), faces, strict=True) if face.label in classes}
    for name in classes:
        assert {e.key for e in index.entries if index.class_names[e.label] == name} == {k for k, face in expected.items() if face.label == name}, name
    assert [e.key for e in index.entries] == sorted(expected)
    assert len(index.entries) == (10 if "Neutral" in classes else 8)
    assert index.dropped == ({"Contempt": 1} if "Neutral" in classes else {"Contempt": 1, "Neutral": 2})
    for entry in index.entries:
        face = expected[entry.key]
        assert (entry.subject, entry.split, entry.path) == (face.subject, face.split, tmp_path / entry.key)
        assert entry.box == face.box
        assert entry.landmarks.dtype == np.float32 and entry.landmarks.shape == (68, 2)
        np.testing.assert_allclose(entry.landmarks, face.landmarks, atol=1e-3)
    assert index.has_official_split and {e.split for e in index.entries} == {"train", "test"}
    assert index.default_detector == "box" and not index.missing and not index.notes


def test_csv_label_synonyms_indices_paths_and_repeats(tmp_path, faces):
    csv_manifest.write(tmp_path, faces[:3])
    image = tmp_path / "images" / "0000.png"
    rows = [
        "Path,Label,Split,Note",
        "images/0000.png,angry,TRAIN,a",
        "images/0001.png,DI,val,",
        f"{tmp_path / 'images' / '0002.png'},fearful,test,",
        f"{image},3,train,",
        "images/0001.png,4,train,two faces in one image",
        "images/0001.png,SURPRISED,train,",
        "images/0000.png,6,train,",
        "images/gone.png,happy,train,",
        "images/gone2.png,contempt,train,",
        ",,,",
    ]
    (tmp_path / "mine.csv").write_text("\n".join(rows) + "\n")
    index = read_dataset("csv", tmp_path, CLASSES_6, manifest=str(tmp_path / "mine.csv"))
    labels = {e.key: index.class_names[e.label] for e in index.entries}
    assert labels == {
        "images/0000.png#1": "Anger",
        "images/0000.png#2": "Happiness",
        "images/0001.png#1": "Disgust",
        "images/0001.png#2": "Sadness",
        "images/0001.png#3": "Surprise",
        "images/0002.png": "Fear",
    }
    assert {e.key: e.split for e in index.entries}["images/0001.png#1"] == "val"
    assert index.missing == ["images/gone.png"]
    assert index.dropped == {"Neutral": 1, "contempt": 1}
    assert index.notes == ["manifest columns ignored: note"]
    assert index.default_detector == "dlib" and all(e.subject is None and e.landmarks is None and e.box is None for e in index.entries)


def test_csv_rows_may_leave_all_landmarks_empty(tmp_path, faces):
    csv_manifest.write(tmp_path, faces[:3])
    manifest = tmp_path / "labels.csv"
    lines = manifest.read_text().splitlines()
    fields = lines[1].split(",")
    lines[1] = ",".join(fields[:4] + [""] * 136 + fields[140:])
    manifest.write_text("\n".join(lines) + "\n")
    index = read_csv_manifest(tmp_path, CLASSES_7)  # three faces: not every class, so not through read_dataset
    assert [e.landmarks is None for e in index.entries] == [True, False, False]


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        ("path,subject", "images/0000.png,S1", r"has no column label in its header: its first line must name the columns"),
        ("path,label,x0,y0", "images/0000.png,angry,1,2", r"has only some of the landmark columns x0..x67,y0..y67 \(missing x1, x2, x3, x4\)"),
        ("path,label,left,top,right", "images/0000.png,angry,1,2,3", r"has only some of the box columns left,top,right,bottom \(missing bottom\)"),
        ("path,label,label", "images/0000.png,angry,sad", r"names the column label twice"),
        ("path,label", "images/0000.png,angry,extra", r"Row 2 of manifest '.*bad.csv' has 3 fields but the header has 2"),
        ("path,label", "images/0000.png,9", r"Row 2 of manifest '.*bad.csv' has label 9, but an integer label is an index 0-6"),
        ("path,label", "images/0000.png,", r"Row 2 of manifest '.*bad.csv' has an empty label: fix or remove that row"),
        ("path,label,split", "images/0000.png,sad,dev", r"Row 2 of manifest '.*bad.csv' has split 'dev' instead of train, val, test"),
        ("path,label,left,top,right,bottom", "images/0000.png,sad,10,5,4,20", r"Row 2 of manifest '.*bad.csv' has box left 10, top 5, right 4, bottom 20"),
        ("path,label,left,top,right,bottom", "images/0000.png,sad,1,2,x,4", r"Row 2 of manifest '.*bad.csv' has right 'x', which is not a number"),
    ],
)
def test_csv_malformed_manifests_name_file_and_row(tmp_path, faces, header, row, message):
    csv_manifest.write(tmp_path, faces[:1])
    (tmp_path / "bad.csv").write_text(f"{header}\n{row}\n")
    with pytest.raises(DataError, match=message):
        read_dataset("csv", tmp_path, CLASSES_7, manifest="bad.csv")


def test_csv_partial_landmarks_and_missing_manifest(tmp_path, faces):
    csv_manifest.write(tmp_path, faces[:2])
    manifest = tmp_path / "labels.csv"
    lines = manifest.read_text().splitlines()
    fields = lines[2].split(",")
    fields[4 + 68 + 5] = ""  # y5 empty, the other 135 points given
    manifest.write_text("\n".join(lines[:2] + [",".join(fields)]) + "\n")
    with pytest.raises(DataError, match=r"Row 3 of manifest '.*labels.csv' has y5 '', which is not a number \(give all of x0..y67 or leave them all empty\)"):
        read_dataset("csv", tmp_path, CLASSES_7)
    with pytest.raises(DataError, match=r"Manifest '.*nowhere.csv' does not exist: set the csv reader's manifest option"):
        read_dataset("csv", tmp_path, CLASSES_7, manifest="nowhere.csv")
