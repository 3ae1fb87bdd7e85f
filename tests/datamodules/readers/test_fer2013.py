import numpy as np
import pandas as pd
import pytest

from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.readers.fer2013 import read_fer2013
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from tests.datamodules.readers.layouts import fer2013 as layout
from tests.datamodules.readers.layouts import synthetic_layout_faces

#: FER2013's README: emotion code -> expression.
OFFICIAL = {0: "Anger", 1: "Disgust", 2: "Fear", 3: "Happiness", 4: "Sadness", 5: "Surprise", 6: "Neutral"}
FERPLUS_OUT_OF_SET = ["Contempt", "unknown", "NF"]


@pytest.fixture(scope="module")
def miniature(tmp_path_factory):
    root = tmp_path_factory.mktemp("fer2013")
    faces = synthetic_layout_faces(CLASSES_7 * 2 + FERPLUS_OUT_OF_SET, size=64)
    layout.write(root, faces)
    return root, faces


@pytest.mark.parametrize("classes", [CLASSES_7, CLASSES_6])
def test_fer2013_labels_splits_and_pixels(miniature, classes):
    root, faces = miniature
    index = read_dataset("fer2013", root, classes)
    # out-of-set faces carry FER2013's Neutral (what the synthetic image shows)
    expected = {key: face.label if face.label in CLASSES_7 else "Neutral" for key, face in zip(layout.keys(faces), faces, strict=True)}
    by_key = dict(zip(layout.keys(faces), faces, strict=True))
    kept = [key for key in by_key if expected[key] in classes]
    assert [entry.key for entry in index.entries] == kept  # row order
    for entry in index.entries:
        face = by_key[entry.key]
        assert classes[entry.label] == expected[entry.key], entry.key
        assert entry.split == face.split, entry.key
        assert entry.pixels.dtype == np.uint8 and entry.pixels.shape == (48, 48)
        np.testing.assert_array_equal(entry.pixels, layout.gray48(face))
        assert entry.path is None and entry.subject is None and entry.box is None and entry.landmarks is None
    assert index.dropped == ({"Neutral": 5} if classes == CLASSES_6 else {})
    assert index.default_detector == "whole" and not index.has_subjects and index.has_official_split and not index.missing


@pytest.mark.parametrize("classes", [CLASSES_7, CLASSES_6])
def test_ferplus_majority_votes_and_out_of_set_counted_by_name(miniature, classes):
    root, faces = miniature
    index = read_dataset("fer2013", root, classes, labels="ferplus")
    by_key = {key: face for key, face in zip(layout.keys(faces), faces, strict=True) if face.label in classes}
    assert [entry.key for entry in index.entries] == list(by_key)
    for entry in index.entries:
        assert classes[entry.label] == by_key[entry.key].label, entry.key
        assert entry.split == by_key[entry.key].split, entry.key
    assert index.dropped == dict.fromkeys(FERPLUS_OUT_OF_SET, 1) | ({"Neutral": 2} if classes == CLASSES_6 else {})


def test_official_codes_usages_and_ferplus_ties(tmp_path):
    faces = synthetic_layout_faces(["Anger"] * 8, size=32)
    layout.write(tmp_path / "fer2013", faces)  # the folder layout of fer2013.tar.gz
    table = pd.read_csv(tmp_path / "fer2013/fer2013.csv", dtype=str)
    table["emotion"] = [str(code) for code in OFFICIAL] + ["0"]
    table["Usage"] = ["Training", "PublicTest", "PrivateTest"] * 2 + ["Training"] * 2
    table.to_csv(tmp_path / "fer2013/fer2013.csv", index=False)
    index = read_dataset("fer2013", tmp_path, CLASSES_7)
    assert [CLASSES_7[entry.label] for entry in index.entries] == list(OFFICIAL.values()) + ["Anger"]
    assert [entry.split for entry in index.entries] == ["train", "val", "test"] * 2 + ["train"] * 2
    votes = pd.read_csv(tmp_path / "fer2013/fer2013new.csv", dtype=str, keep_default_na=False)
    votes["Usage"] = table["Usage"]
    votes.loc[0, ["anger", "neutral", "sadness"]] = ["4", "4", "2"]  # a tie: left out
    votes.loc[1, ["anger", "neutral", "contempt"]] = ["3", "2", "5"]  # contempt wins
    votes.loc[2, ["anger", "neutral", "unknown"]] = ["4", "0", "6"]  # unknown wins
    votes.loc[3, ["anger", "neutral", "NF"]] = ["0", "0", "10"]  # not a face
    votes.loc[4, ["anger", "neutral", "fear", "surprise"]] = ["0", "2", "5", "3"]  # fear by plurality
    votes.to_csv(tmp_path / "fer2013/fer2013new.csv", index=False)
    plus = read_fer2013(tmp_path, CLASSES_7, labels="ferplus")  # the reader itself: most classes are left empty
    assert plus.dropped == {"tie": 1, "Contempt": 1, "unknown": 1, "NF": 1}
    assert [(entry.key, CLASSES_7[entry.label]) for entry in plus.entries[:2]] == [("fer2013.csv#4", "Fear"), ("fer2013.csv#5", "Anger")]
    assert [entry.split for entry in plus.entries] == ["val", "test", "train", "train"]


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("pixels", " ".join(["7"] * 2303), "has pixels that are not 2304 gray levels 0-255 \\(found 2303 values\\)"),
        ("pixels", " ".join(["7"] * 2303 + ["256"]), "has pixels that are not 2304 gray levels 0-255 \\(found 2304 values\\)"),
        ("pixels", " ".join(["7"] * 2303 + ["x"]), "has pixels that are not 2304 gray levels 0-255 \\(found unreadable values\\)"),
        ("emotion", "7", "instead of an emotion 0-6 and a Usage"),
        ("Usage", "Testing", "instead of an emotion 0-6 and a Usage"),
    ],
)
def test_malformed_row_is_one_sentence_naming_file_and_row(tmp_path, column, value, message):
    layout.write(tmp_path, synthetic_layout_faces(["Anger", "Fear", "Sadness"], size=32))
    table = pd.read_csv(tmp_path / "fer2013.csv", dtype=str)
    table.loc[2, column] = value
    table.to_csv(tmp_path / "fer2013.csv", index=False)
    with pytest.raises(DataError, match=rf"^Row 2 \(line 4\) of '.*fer2013.csv' .*{message}.*: fix or remove that row\.$") as error:
        read_dataset("fer2013", tmp_path, CLASSES_7)
    assert "\n" not in str(error.value)


def test_ferplus_file_errors(tmp_path):
    layout.write(tmp_path, synthetic_layout_faces(["Anger", "Fear", "Sadness"], size=32))
    votes = pd.read_csv(tmp_path / "fer2013new.csv", dtype=str, keep_default_na=False)
    votes.loc[1, "fear"] = "many"
    votes.to_csv(tmp_path / "fer2013new.csv", index=False)
    with pytest.raises(DataError, match=r"^Row 1 \(line 3\) of '.*fer2013new.csv' .* instead of the Usage of .* and ten vote counts"):
        read_dataset("fer2013", tmp_path, CLASSES_7, labels="ferplus")
    votes.iloc[:2].to_csv(tmp_path / "fer2013new.csv", index=False)
    with pytest.raises(DataError, match="FER\\+ file .* has 2 rows but .* has 3: use the fer2013new.csv made for this fer2013.csv"):
        read_dataset("fer2013", tmp_path, CLASSES_7, labels="ferplus")
    (tmp_path / "fer2013new.csv").unlink()
    with pytest.raises(DataError, match="FER\\+ file 'fer2013new.csv' not found next to"):
        read_dataset("fer2013", tmp_path, CLASSES_7, labels="ferplus")
    with pytest.raises(DataError, match="FER2013 has no label set 'fer'"):
        read_dataset("fer2013", tmp_path, CLASSES_7, labels="fer")
    (tmp_path / "fer2013.csv").unlink()
    with pytest.raises(DataError, match="FER2013 file 'fer2013.csv' not found in"):
        read_dataset("fer2013", tmp_path, CLASSES_7)
