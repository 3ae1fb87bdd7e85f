import shutil

import pytest

from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.readers.folder import read_folder
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from tests.datamodules.readers.layouts import folder, synthetic_layout_faces

LABELS = CLASSES_7 + ["Contempt", "Anger", "Happiness", "Sadness", "Surprise", "Fear", "Disgust"]


@pytest.fixture(scope="module")
def faces():
    return synthetic_layout_faces(LABELS, size=48)


@pytest.mark.parametrize("classes", [CLASSES_6, CLASSES_7], ids=["6", "7"])
def test_folder_labels_subjects_and_official_split(tmp_path, faces, classes):
    folder.write(tmp_path, faces)
    index = read_dataset("folder", tmp_path, classes)
    expected = {path: face for path, face in zip(folder.file_paths(faces), faces, strict=True) if face.label in classes}
    for name in classes:
        assert {e.key for e in index.entries if index.class_names[e.label] == name} == {k for k, face in expected.items() if face.label == name}, name
    assert [e.key for e in index.entries] == sorted(expected)
    assert len(index.entries) == (13 if "Neutral" in classes else 12)
    assert index.dropped == ({"contempt": 1} if "Neutral" in classes else {"contempt": 1, "Neutral": 1})
    for entry in index.entries:
        face = expected[entry.key]
        assert (entry.subject, entry.split) == (face.subject, face.split)
        assert entry.path == tmp_path / entry.key and entry.landmarks is None and entry.box is None
    assert index.has_official_split and {e.split for e in index.entries} == {"train", "test"}
    assert index.default_detector == "dlib" and not index.missing and not index.notes


def test_folder_regression_fer2013_lower_case_folders_lose_nothing(tmp_path, faces):
    folder.write(tmp_path, faces, split_folders=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["angry", "contempt", "disgusted", "fearful", "happy", "neutral", "sad", "surprised"]
    (tmp_path / "misc").mkdir()
    shutil.copy(tmp_path / folder.file_paths(faces, False)[0], tmp_path / "misc" / "x_1.jpg")
    shutil.copy(tmp_path / folder.file_paths(faces, False)[0], tmp_path / "loose_1.png")
    (tmp_path / "happy" / "labels.txt").write_text("not an image")
    (tmp_path / "sad" / "deeper").mkdir()
    shutil.copy(tmp_path / folder.file_paths(faces, False)[4], tmp_path / "sad" / "deeper" / "S009_0099.jpg")
    index = read_dataset("folder", tmp_path, CLASSES_6)
    written = sum(face.label in CLASSES_6 for face in faces) + 1  # + the copy deeper in sad/
    assert len(index.entries) == written == 13
    assert index.class_counts() == {"Anger": 2, "Disgust": 2, "Fear": 2, "Happiness": 2, "Sadness": 3, "Surprise": 2}
    assert index.dropped == {"contempt": 1, "Neutral": 1, "misc": 1}
    assert index.notes == ["1 images outside class folders ignored (loose_1.png)"]
    assert not index.has_official_split
    deeper = next(e for e in index.entries if e.key == "sad/deeper/S009_0099.jpg")
    assert index.class_names[deeper.label] == "Sadness" and deeper.subject == "S009"


def test_folder_empty_class_folder_and_split_option_errors(tmp_path, faces):
    folder.write(tmp_path, [face for face in faces if face.label != "Disgust"], split_folders=False)
    (tmp_path / "disgusted").mkdir()
    with pytest.raises(DataError, match=r"has no image of the class Disgust \(.*empty class folder disgusted\)"):
        read_dataset("folder", tmp_path, CLASSES_6)
    with pytest.raises(DataError, match="has no train/ and test/ folders of class folders: set the folder reader's split_folders to false or null"):
        read_dataset("folder", tmp_path, CLASSES_6, split_folders=True)


def test_folder_split_folders_val_and_subject_options(tmp_path, faces):
    folder.write(tmp_path, faces)
    happy = folder.file_paths(faces)[3]
    (tmp_path / "val" / "Happy").mkdir(parents=True)
    shutil.copy(tmp_path / happy, tmp_path / "val" / "Happy" / "Training_77.jpg")
    index = read_dataset("folder", tmp_path, CLASSES_7, subject_pattern=None)
    added = next(e for e in index.entries if e.key == "val/Happy/Training_77.jpg")
    assert added.split == "val" and index.class_names[added.label] == "Happiness"
    assert all(e.subject is None for e in index.entries)
    numbered = read_dataset("folder", tmp_path, CLASSES_7, subject_pattern=r"_(\d+)\.")
    assert {e.key: e.subject for e in numbered.entries}["val/Happy/Training_77.jpg"] == "77"
    inside = read_folder(tmp_path / "train", CLASSES_7)  # a split folder read alone: no split
    assert len(inside.entries) == 9 and not inside.has_official_split
    with pytest.raises(DataError, match="No labelled faces .* dropped labels outside the class set: test 4, train 10, val 1"):
        read_dataset("folder", tmp_path, CLASSES_7, split_folders=False)
    with pytest.raises(DataError, match=r"subject_pattern '\^\[\^_\]\+_' has no group"):
        read_dataset("folder", tmp_path, CLASSES_7, subject_pattern="^[^_]+_")
    with pytest.raises(DataError, match="is not a valid regular expression"):
        read_dataset("folder", tmp_path, CLASSES_7, subject_pattern="([")
