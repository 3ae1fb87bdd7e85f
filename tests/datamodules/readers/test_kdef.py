import shutil
from dataclasses import replace

import pytest

import ferlens.datamodules.readers.kdef  # noqa: F401  (registers the reader)
from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_6, CLASSES_7
from tests.datamodules.readers.layouts import kdef, synthetic_layout_faces

LABELS = CLASSES_7 + ["Contempt", "Anger", "Happiness"]


@pytest.fixture(scope="module")
def faces():
    faces = synthetic_layout_faces(LABELS, size=64)
    faces[8] = replace(faces[8], subject=faces[0].subject)  # a second Anger face of the first subject: session B
    return faces


@pytest.mark.parametrize("classes", [CLASSES_6, CLASSES_7], ids=["6", "7"])
def test_kdef_labels_and_subjects(tmp_path, faces, classes):
    kdef.write(tmp_path, faces)
    index = read_dataset("kdef", tmp_path, classes)
    expected = {path: face for path, face in zip(kdef.file_paths(faces), faces, strict=True) if face.label in classes}
    for name in classes:
        assert {e.key for e in index.entries if index.class_names[e.label] == name} == {k for k, face in expected.items() if face.label == name}, name
    assert [e.key for e in index.entries] == sorted(expected)
    assert len(index.entries) == (9 if "Neutral" in classes else 8)
    assert index.dropped == ({} if "Neutral" in classes else {"Neutral": 1})
    assert index.notes == ["KDEF files with unknown codes ignored: expression CO 1"]
    for entry in index.entries:
        assert entry.subject == kdef.subject_id(expected[entry.key].subject)
        assert entry.path == tmp_path / entry.key and entry.landmarks is None and entry.split is None
    assert index.default_detector == "dlib" and not index.missing
    angry = [e for e in index.entries if index.class_names[e.label] == "Anger"]
    assert [e.key.split("/")[1] for e in angry] == [f"A{angry[0].subject}", f"B{angry[0].subject}"]
    assert angry[0].subject == angry[1].subject == kdef.subject_id(faces[0].subject)


def test_kdef_root_may_be_the_kdef_folder_and_angles_select_views(tmp_path, faces):
    kdef.write(tmp_path, faces)
    straight = kdef.file_paths(faces)[0]
    half_left = straight.replace("S.JPG", "HL.JPG")
    shutil.copy(tmp_path / straight, tmp_path / half_left)
    shutil.copy(tmp_path / straight, tmp_path / straight.replace("S.JPG", "FR.JPG"))
    shutil.copy(tmp_path / straight, tmp_path / "KDEF" / "portrait.jpg")
    (tmp_path / "KDEF" / "readme.txt").write_text("not an image")
    index = read_dataset("kdef", tmp_path / "KDEF", CLASSES_7)
    in_set = [path for path, face in zip(kdef.file_paths(faces), faces, strict=True) if face.label != "Contempt"]
    assert [e.key for e in index.entries] == sorted(path.removeprefix("KDEF/") for path in in_set)
    assert "KDEF views at other angles than S skipped: FR 1, HL 1" in index.notes
    assert "1 images not named like AF01ANS.JPG ignored (portrait.jpg)" in index.notes
    both = read_dataset("kdef", tmp_path, CLASSES_7, angles=["s", "HL"])
    assert len(both.entries) == 10 and half_left in {e.key for e in both.entries}
    assert "KDEF views at other angles than HL/S skipped: FR 1" in both.notes
    with pytest.raises(DataError, match="not a non-empty subset of S, HL, HR, FL, FR"):
        read_dataset("kdef", tmp_path, CLASSES_7, angles=["left"])
