import csv
import logging
import os
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from ferlens.datamodules.face_prep import REPORT_COLUMNS, default_cache_dir, prepare_faces, resolve_settings
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex
from ferlens.datamodules.sources import DataError
from ferlens.faces.prepare import FaceSettings, prepare_face

# the cascade finds the 36 px face of tiny.png (its box then "face too small" at min_face 24); small crops keep it quick
SETTINGS = FaceSettings(detector="dlib", landmarks="dlib", size=64, min_face=24)


def _face() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[40:220, 140:320])  # 180 px, one face


def _write(path: Path, image: np.ndarray) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def _dataset(folder: Path) -> DatasetIndex:
    """face.png ok, flipped.jpg ok, two.png several faces (2), coffee.jpg no face,
    corrupt.jpg and empty.png unreadable, tiny.png face too small."""
    folder.mkdir(parents=True, exist_ok=True)
    face = _face()
    tiny = np.full((64, 64, 3), 128, np.uint8)
    tiny[10:46, 10:46] = cv2.resize(face, (36, 36), interpolation=cv2.INTER_AREA)
    _write(folder / "face.png", face)
    _write(folder / "flipped.jpg", face[:, ::-1].copy())
    _write(folder / "two.png", np.concatenate([face, np.pad(cv2.resize(face, (140, 140)), ((20, 20), (0, 0), (0, 0)))], axis=1))
    _write(folder / "coffee.jpg", cv2.resize(data.coffee(), (150, 100), interpolation=cv2.INTER_AREA))
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a picture")
    (folder / "empty.png").write_bytes(b"")
    _write(folder / "tiny.png", tiny)
    names = ["face.png", "flipped.jpg", "two.png", "coffee.jpg", "corrupt.jpg", "empty.png", "tiny.png"]
    return _index(folder, names)


def _index(folder: Path, names: list[str]) -> DatasetIndex:
    return DatasetIndex("faces", folder, ["Happy"], [DatasetEntry(key=name, label=0, path=folder / name) for name in names])


def test_report_names_every_status_and_the_largest_of_several_faces(tmp_path):
    index = _dataset(tmp_path / "data")
    index.entries.append(DatasetEntry(key="missing.jpg", label=0, path=tmp_path / "data" / "missing.jpg"))
    prepared = prepare_faces(index, SETTINGS, cache_dir=tmp_path / "cache", workers=1, progress=False)
    expected = ["ok", "ok", "several faces", "no face", "unreadable", "unreadable", "face too small", "unreadable"]
    assert prepared.statuses == expected and prepared.usable.tolist() == [0, 1, 2]
    assert prepared.summary == (
        "faces: 8 images -> 3 faces prepared (1 several faces, largest kept); skipped 5: unreadable 3, no face 1, face too small 1; "
        f"too few faces found (3) to tell whether the images are tight crops; 0 from cache; report: {prepared.report_path}"
    )
    # detector runs: one each for the three faces, the whole cascade (3) for coffee, two steps for tiny; predictor runs: 1 per face
    assert prepared.report_path.parent.parent == tmp_path / "cache" / "faces" and prepared.detector_calls == 8 and prepared.predictor_calls == 3
    with open(prepared.report_path, newline="") as handle:
        rows = {row["key"]: row for row in csv.DictReader(handle)}
    assert tuple(next(iter(rows.values()))) == REPORT_COLUMNS == (
        "key", "path", "status", "step", "rescue", "seen_by", "left", "top", "right", "bottom", "faces", "pad", "outside", "shape_residual", "refit_shift",
        "box_follow", "face_score", "cached",
    )  # fmt: skip
    assert [rows[name]["status"] for name in rows] == expected and rows["corrupt.jpg"]["path"] == str(tmp_path / "data" / "corrupt.jpg")
    assert rows["two.png"]["faces"] == "2" and float(rows["two.png"]["right"]) < 180  # the larger, left face
    assert rows["coffee.jpg"]["left"] == "" and rows["missing.jpg"]["cached"] == "0" and rows["coffee.jpg"]["step"] == ""
    assert [rows[name]["step"] for name in ("face.png", "two.png", "tiny.png")] == ["hog", "hog", "hog_upsampled"]
    assert rows["face.png"]["pad"] == "45" and rows["tiny.png"]["pad"] == "16" and rows["corrupt.jpg"]["pad"] == "0"  # a quarter of the longer side
    assert float(rows["face.png"]["shape_residual"]) < 0.3 and rows["face.png"]["refit_shift"] == "" and float(rows["face.png"]["face_score"]) > 0.5
    assert rows["tiny.png"]["box_follow"] == "" and rows["face.png"]["outside"] == "0" and rows["face.png"]["rescue"] == ""  # too small: not landmarked
    crop, points = prepared.load(2)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8 and points.shape == (68, 2) and points.dtype == np.float32
    with pytest.raises(ValueError, match="no face"):
        prepared.load(3)


def test_on_failure_whole_and_error(tmp_path):
    """The whole-image fallback (refined) is judged like a detection: on coffee the landmark
    check rejects what the predictor made of a picture without a face, and on the tiny face
    (36 px in 64) the refined whole-image fit lands 5.8 px (~0.4 inter-ocular distances) off
    the points in the detector's box, where no detector sees a face: refused too (the
    stability checks of before accepted it)."""
    index = _dataset(tmp_path / "data")
    whole = prepare_faces(index, replace(SETTINGS, on_failure="whole"), cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert whole.statuses == ["ok", "ok", "several faces", "implausible landmarks", "unreadable", "unreadable", "implausible landmarks"]
    assert whole.usable.tolist() == [0, 1, 2] and "(1 several faces, largest kept)" in whole.summary
    assert whole.details[6]["step"] == "whole" and whole.details[6]["seen_by"] == "" and whole.details[0]["seen_by"] == "hog"
    with pytest.raises(DataError) as raised:
        prepare_faces(index, replace(SETTINGS, on_failure="error"), cache_dir=tmp_path / "cache", workers=1, progress=False)
    message = str(raised.value)
    assert message.startswith("Face preparation failed on 4 of the 7 faces images (") and message.endswith("where no face is found.")
    assert f"'{tmp_path / 'data' / 'coffee.jpg'}' (no face)" in message and "(unreadable)" in message and "and 1 more; report: " in message
    assert "face.on_failure=skip" in message and "face.on_failure=whole" in message


def test_cache_second_run_is_free_and_changes_are_prepared_alone(tmp_path, caplog):
    folder, cache = tmp_path / "data", tmp_path / "cache"
    index = _dataset(folder)
    first = prepare_faces(index, SETTINGS, cache_dir=cache, workers=1, progress=False)
    assert first.from_cache == 0 and first.detector_calls == 8
    again = prepare_faces(index, SETTINGS, cache_dir=cache, workers=1, progress=False)
    assert again.detector_calls == again.predictor_calls == 0 and again.from_cache == 7 and again.statuses == first.statuses
    assert "; 7 from cache;" in again.summary and again.details == first.details and again.class_counts == first.class_counts
    for i in first.usable:
        assert all(np.array_equal(a, b) for a, b in zip(first.load(i), again.load(i), strict=True))

    os.utime(folder / "face.png", ns=(1, 1))  # touched, same content: hashed again, not prepared
    assert prepare_faces(index, SETTINGS, cache_dir=cache, workers=1, progress=False).detector_calls == 0

    _write(folder / "face.png", cv2.resize(_face(), (170, 170)))  # changed
    changed = prepare_faces(index, SETTINGS, cache_dir=cache, workers=1, progress=False)
    assert (changed.detector_calls, changed.predictor_calls, changed.from_cache, changed.statuses[0]) == (1, 1, 6, "ok")

    _write(folder / "added.png", cv2.resize(_face()[:, ::-1], (160, 160)))  # added
    grown = _index(folder, [e.key for e in index.entries] + ["added.png"])
    added = prepare_faces(grown, SETTINGS, cache_dir=cache, workers=1, progress=False)
    assert (added.detector_calls, added.predictor_calls, added.from_cache) == (1, 1, 7)

    truncated = added.files[1]
    truncated.write_bytes(truncated.read_bytes()[:100])
    np.savez(added.files[2], crop=np.zeros((1, 1, 3), np.uint8))  # wrong fields
    with caplog.at_level(logging.WARNING, logger="ferlens.datamodules.face_prep"):
        rebuilt = prepare_faces(grown, SETTINGS, cache_dir=cache, workers=1, progress=False)
    assert rebuilt.rebuilt == 2 and rebuilt.detector_calls == 2 and rebuilt.from_cache == 6 and "; 2 damaged cache entries rebuilt;" in rebuilt.summary
    assert "2 damaged face-cache entries" in caplog.text and rebuilt.statuses == added.statuses
    assert np.array_equal(rebuilt.load(1)[0], added.load(1)[0])
    assert prepare_faces(grown, SETTINGS, cache_dir=cache, workers=1, progress=False).rebuilt == 0


def test_a_damaged_cache_index_is_rebuilt_from_the_entries(tmp_path, caplog):
    index = _index(tmp_path, [_write(tmp_path / "face.png", _face()).name])
    first = prepare_faces(index, SETTINGS, cache_dir=tmp_path / "cache", workers=1, progress=False)
    (tmp_path / "cache" / "faces" / "index.sqlite").write_bytes(b"not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="ferlens.datamodules.face_prep"):
        again = prepare_faces(index, SETTINGS, cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert "face-cache index" in caplog.text and again.from_cache == 1 and again.detector_calls == 0 and again.statuses == first.statuses


def test_shipped_boxes_and_landmarks_are_not_redetected(tmp_path):
    face = _face()
    found = prepare_faces(_index(tmp_path, [_write(tmp_path / "face.png", face).name]), SETTINGS, cache_dir=tmp_path / "cache", workers=1, progress=False)
    crop, points = found.load(0)
    with open(found.report_path, newline="") as handle:
        row = next(csv.DictReader(handle))
    box = tuple(float(row[side]) for side in ("left", "top", "right", "bottom"))
    side = max(box[2] - box[0], box[3] - box[1]) * 1.5
    source_points = (points - 31.5) * side / 64 + [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]  # crop pixels -> source pixels
    entries = [DatasetEntry(key=f"#{i}", label=0, pixels=face, box=box, landmarks=source_points.astype(np.float32)) for i in range(2)]
    index = DatasetIndex("shipped", tmp_path, ["Happy"], entries)
    settings = resolve_settings(index, detector="box", upsample=2, size=64)
    assert settings.landmarks == "dataset"
    shipped = prepare_faces(index, settings, cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert shipped.statuses == ["ok", "ok"] and shipped.detector_calls == shipped.predictor_calls == 0
    assert np.allclose(shipped.load(0)[1], points, atol=1e-3) and np.abs(shipped.load(1)[0].astype(int) - crop).mean() < 1
    boxed = prepare_faces(index, resolve_settings(index, detector="box", landmarks="dlib", size=64), cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert boxed.detector_calls == 0 and boxed.predictor_calls == 1  # both entries share the pixels: one entry in the cache
    assert np.allclose(boxed.load(1)[1], points, atol=1e-3)


def test_two_workers_give_what_one_gives(tmp_path):
    """After the in-process run ran dlib's CNN (on coffee.jpg), the workers are spawned, not forked (a fork would hang in it)."""
    index = _dataset(tmp_path / "data")
    one = prepare_faces(index, SETTINGS, cache_dir=tmp_path / "one", workers=1, progress=False)
    two = prepare_faces(index, SETTINGS, cache_dir=tmp_path / "two", workers=2, progress=False)
    assert two.statuses == one.statuses and two.detector_calls == one.detector_calls and two.predictor_calls == one.predictor_calls
    for i in one.usable:
        (crop_1, points_1), (crop_2, points_2) = one.load(i), two.load(i)
        assert np.array_equal(crop_1, crop_2) and np.array_equal(points_1, points_2)


def test_resolve_settings_defaults_and_one_sentence_errors(tmp_path):
    plain = DatasetIndex("plain", tmp_path, ["Happy"], [DatasetEntry(key="a.png", label=0, path=tmp_path / "a.png")], default_detector="whole")
    assert resolve_settings(plain) == FaceSettings("whole", "dlib")
    assert resolve_settings(plain, detector="dlib", size=128, on_failure="whole") == FaceSettings("dlib", "dlib", size=128, on_failure="whole")
    with pytest.raises(DataError, match=r"^face.landmarks=dataset needs the dataset's 68 landmarks, but 1 of 1 plain images lack them: set face"):
        resolve_settings(plain, landmarks="dataset")
    with pytest.raises(DataError, match=r"^face.detector=box needs the dataset's own face boxes, but 1 of 1 plain images lack one: set face.detector=dlib\.$"):
        resolve_settings(plain, detector="box")
    with pytest.raises(DataError, match="has no setting workers"):
        resolve_settings(plain, workers=2)
    points = np.zeros((68, 2), np.float32)
    entry = DatasetEntry(key="a.png", label=0, path=tmp_path / "a.png", landmarks=points)
    shipped = DatasetIndex("ckplus", tmp_path, ["Happy"], [entry], default_detector="box")
    assert resolve_settings(shipped) == FaceSettings("box", "dataset")  # box from the landmarks' extent


def test_default_cache_dir_is_outside_the_data(monkeypatch, tmp_path):
    monkeypatch.setenv("FERLENS_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("FERLENS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "ferlens"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "ferlens"


def test_a_new_cascade_setting_never_reads_stale_entries_and_report_only_settings_keep_them(tmp_path):
    index = _index(tmp_path, [_write(tmp_path / "face.png", _face()).name])
    first = prepare_faces(index, SETTINGS, cache_dir=tmp_path / "cache", workers=1, progress=False)
    for changed in ({"pad": 0.1}, {"pad_mode": "reflect"}, {"min_side": 0}, {"cascade": ["cnn"]}, {"refine": 1}, {"max_box_follow": 0.5}):
        again = prepare_faces(index, replace(SETTINGS, **changed), cache_dir=tmp_path / "cache", workers=1, progress=False)
        assert again.from_cache == 0 and again.detector_calls == 1 and again.report_path.parent != first.report_path.parent, changed
    relaxed = replace(SETTINGS, max_class_drop=0.5, max_class_gap=0.5, on_class_bias="error")  # decide what is reported, not what is stored
    kept = prepare_faces(index, relaxed, cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert kept.from_cache == 1 and kept.detector_calls == 0 and kept.report_path == first.report_path


def _class_index(folder: Path, images: dict[str, list[np.ndarray]]) -> DatasetIndex:
    """In-memory entries, one class per key of ``images``."""
    classes = list(images)
    entries = [DatasetEntry(key=f"{name}/{i}", label=label, pixels=image) for label, name in enumerate(classes) for i, image in enumerate(images[name])]
    return DatasetIndex("mine", folder, classes, entries)


def test_class_drop_warning_names_the_class_that_lost_most_and_is_silent_when_balanced(tmp_path, caplog):
    face = _face()
    faces = [face, face[:, ::-1].copy(), cv2.resize(face, (160, 160)), cv2.resize(face[:, ::-1], (150, 150))]
    no_faces = [np.full((120, 120, 3), 90, np.uint8), cv2.resize(data.coffee(), (150, 100))]
    lost = _class_index(tmp_path, {"Anger": faces, "Disgust": [*faces[:2], *no_faces], "Fear": faces[1:]})
    with caplog.at_level(logging.WARNING, logger="ferlens.datamodules.face_prep"):
        prepared = prepare_faces(lost, SETTINGS, cache_dir=tmp_path / "cache", workers=1, progress=False)
    counts = {"images": 4, "prepared": 4, "dropped": 0}
    assert prepared.class_counts == {"Anger": counts, "Disgust": {"images": 4, "prepared": 2, "dropped": 2}, "Fear": {**counts, "images": 3, "prepared": 3}}
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [prepared.class_bias] and prepared.class_bias == (
        "Face preparation dropped Disgust 50 % (2 of 4) against Anger 0 % (0 of 4) of the mine images (more than face.max_class_drop=0.1; "
        "drop rates 50 points apart, more than face.max_class_gap=0.1), so the heatmaps of this class rest on the faces the detector could find: "
        f"see which images and why in {prepared.report_path}."
    )
    table = prepared.class_table().splitlines()
    assert table[0].split() == ["faces", "Anger", "Disgust", "Fear", "total"] and table[3].split() == ["dropped", "0", "2", "0", "2"]
    assert table[4].split() == ["dropped", "%", "0", "%", "50", "%", "0", "%", "18", "%"]
    with pytest.raises(DataError) as raised:
        prepare_faces(lost, replace(SETTINGS, on_class_bias="error"), cache_dir=tmp_path / "cache", workers=1, progress=False)
    message = str(raised.value)
    assert message.startswith("Face preparation dropped Disgust 50 % (2 of 4)") and message.endswith("; set face.on_class_bias=warn to go on anyway.")
    assert message.count(". ") == 0 and "\n" not in message  # one sentence

    caplog.clear()
    balanced = _class_index(tmp_path, {"Anger": faces, "Disgust": faces[::-1], "Fear": faces[1:]})
    with caplog.at_level(logging.WARNING, logger="ferlens.datamodules.face_prep"):
        even = prepare_faces(balanced, replace(SETTINGS, on_class_bias="error"), cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert even.class_bias is None and not caplog.records and all(c["dropped"] == 0 for c in even.class_counts.values())
    # even drops above the limit are named too: every class here loses one of four
    uneven = _class_index(tmp_path, {"Anger": [*faces[:3], no_faces[0]], "Disgust": [*faces[1:], no_faces[0]]})
    both = prepare_faces(uneven, SETTINGS, cache_dir=tmp_path / "cache", workers=1, progress=False)
    expected = "Face preparation dropped Anger 25 % (1 of 4), Disgust 25 % (1 of 4) of the mine images (more than face.max_class_drop=0.1),"
    assert both.class_bias.startswith(expected)


def test_source_points_map_the_crop_back_onto_the_image(tmp_path):
    index = _index(tmp_path, [_write(tmp_path / "face.png", _face()).name])
    prepared = prepare_faces(index, replace(SETTINGS, level_eyes=True), cache_dir=tmp_path / "cache", workers=1, progress=False)
    direct = prepare_face(_face(), replace(SETTINGS, level_eyes=True))
    inverse = cv2.invertAffineTransform(direct.affine)
    assert np.allclose(prepared.source_points(0), direct.points @ inverse[:, :2].T + inverse[:, 2], atol=1e-3)


def test_the_class_table_says_why_each_class_lost_images(tmp_path):
    """Status x class under the counts: per status that dropped images, its count per class."""
    prepared = prepare_faces(_dataset(tmp_path / "data"), SETTINGS, cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert prepared.dropped_by_status == {"unreadable": {"Happy": 2}, "no face": {"Happy": 1}, "face too small": {"Happy": 1}}
    assert list(prepared.dropped_by_status) == ["unreadable", "no face", "face too small"]  # STATUSES order
    assert sum(counts["dropped"] for counts in prepared.class_counts.values()) == 4
    lines = prepared.class_table().splitlines()
    assert "  unreadable" in lines and "  no face" in lines and "  face too small" in lines
    assert lines[lines.index("  no face") + 1].split()[-1] == "1" and not prepared.decision.tight
