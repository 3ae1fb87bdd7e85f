"""A user's own dataset reader by ``_target_`` (``datamodules.readers.custom``), written in a
folder outside the clone: its records become the index the built-in readers give, labels
through the aliases, drops counted, faces prepared from its boxes and landmarks."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from ferlens.datamodules.prepared import prepared_datamodule
from ferlens.datamodules.readers import read_dataset
from ferlens.datamodules.sources import DataError
from ferlens.formats.expressions import CLASSES_6
from ferlens.registry import import_target
from ferlens.user_errors import UserError
from tests.user_lab import forget_lab, user_lab, write_lab_faces


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(user_lab(tmp_path / "lab")))
    yield tmp_path
    forget_lab()


def test_the_records_of_a_user_reader_are_indexed_with_labels_through_the_aliases(lab):
    root = lab / "faces"
    faces = write_lab_faces(root, num_images=48, num_subjects=8, size=32, extra_rows=(("s000_000.png", "contempt"), ("gone.png", "happy")))
    reader = functools.partial(import_target("my_lab.readers.read_faces", "data.reader._target_"))
    index = read_dataset(reader, root, CLASSES_6)
    assert index.name == "my_lab.readers.read_faces" and len(index.entries) == 48
    assert [entry.label for entry in index.entries] == [faces[i].label for i in range(48)] and len(set(faces.labels)) == 6  # "happy" -> Happiness, ...
    assert [entry.subject for entry in index.entries] == [faces[i].subject for i in range(48)]
    assert index.dropped == {"contempt": 1} and index.missing == [str(root / "gone.png")]  # counted by name, listed
    np.testing.assert_array_equal(index.entries[3].landmarks, faces[3].landmarks)
    np.testing.assert_allclose(index.entries[3].box, [*faces[3].landmarks.min(axis=0), *faces[3].landmarks.max(axis=0)], rtol=1e-6)  # CSV text
    assert index.has_landmarks and index.has_subjects


def test_a_user_reader_feeds_the_face_preparation_and_the_datamodule(lab):
    root = lab / "faces"
    faces = write_lab_faces(root, num_images=48, num_subjects=8)
    reader = functools.partial(import_target("my_lab.readers.read_faces", "data.reader._target_"))
    face = {"detector": "box", "landmarks": "dataset", "size": 96, "workers": 0}
    module = prepared_datamodule(reader, str(root), face=face, cache_dir=str(lab / "cache"), input_size=96, num_folds=4, batch_size=8, num_workers=0)
    module.setup("fit")
    assert module.class_names == list(CLASSES_6) and len(module.source) == 48
    sample = module.source[5]
    assert sample.label == faces[5].label and sample.landmarks.shape == (68, 2) and np.isfinite(sample.landmarks).all()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("my_lab.readers.nope", r"^data.reader._target_=my_lab.readers.nope does not import \(AttributeError"),
        ("my_lab.bad.not_records", r"^data.reader my_lab.bad.not_records returned a int, not records: return or yield one record"),
    ],
)
def test_a_broken_reader_is_one_sentence(lab, target, message):
    (lab / "faces").mkdir()
    with pytest.raises(UserError, match=message):
        read_dataset(functools.partial(import_target(target, "data.reader._target_")), lab / "faces", CLASSES_6)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"label": "happy"}, r"^Record 0 of data.reader .* has no image: give every record an image"),
        ({"image": np.zeros((8, 8, 3), np.uint8)}, r"^Record 0 of data.reader .* has no label"),
        ({"image": np.zeros((8, 8, 4), np.uint8), "label": "happy"}, r"has an image uint8 \[8, 8, 4\]: give uint8 pixels"),
        ({"image": np.zeros((8, 8, 3), np.uint8), "label": "happy", "landmarks": np.zeros((5, 2))}, r"has landmarks \[5, 2\]: give 68"),
        ({"image": np.zeros((8, 8, 3), np.uint8), "label": "happy", "split": "dev"}, r"has split 'dev': use one of train, val, test"),
    ],
)
def test_a_bad_record_is_one_sentence(tmp_path, record, message):
    def reader(root):
        return [record]

    with pytest.raises(DataError, match=message):
        read_dataset(reader, tmp_path, CLASSES_6)
