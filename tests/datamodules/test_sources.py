import cv2
import numpy as np
import pytest

from datamodules.sources import DataError, ImageFolderFaces


def _write_dataset(root, per_class=3):
    for cls in ("Anger", "happiness", "Surprise"):
        (root / cls).mkdir(parents=True)
        for k in range(per_class):
            cv2.imwrite(str(root / cls / f"sub{k}_{cls}.png"), np.full((30, 30, 3), 40 * k, np.uint8))


def test_folder_reader_labels_subjects_and_skips_unreadable_files(tmp_path):
    _write_dataset(tmp_path)
    (tmp_path / "Anger" / "sub9_broken.png").write_bytes(b"not an image")
    cv2.imwrite(str(tmp_path / "Surprise" / "gray16_x.png"), np.full((20, 20), 60000, np.uint16))
    faces = ImageFolderFaces(tmp_path)
    assert len(faces) == 10
    assert faces.skipped == [str(tmp_path / "Anger" / "sub9_broken.png")]
    assert "skipped 1 unreadable" in faces.describe()
    assert sorted(set(faces.labels.tolist())) == [0, 3, 5]  # Anger, Happiness (case-insensitive), Surprise
    assert set(faces.subjects) == {"sub0", "sub1", "sub2", "gray16"}
    sixteen = faces[faces.paths.index(tmp_path / "Surprise" / "gray16_x.png")]
    assert sixteen.image.dtype == np.uint8 and sixteen.image.max() == 60000 // 257
    assert np.isnan(sixteen.landmarks).all()


def test_folder_reader_errors_are_one_sentence(tmp_path):
    with pytest.raises(DataError, match="does not exist: set data.source.root"):
        ImageFolderFaces(tmp_path / "nowhere")
    (tmp_path / "Anger").mkdir()
    with pytest.raises(DataError, match="No images found under"):
        ImageFolderFaces(tmp_path)
    (tmp_path / "Anger" / "a_1.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="None of the 1 image files"):
        ImageFolderFaces(tmp_path)
