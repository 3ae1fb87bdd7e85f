"""CK+ (Extended Cohn-Kanade, Lucey et al. 2010) in its official layout.

``root`` holds the unpacked archives::

    cohn-kanade-images/S005/001/S005_001_00000001.png ...   (frames, mostly gray PNG)
    Emotion/S005/001/S005_001_00000011_emotion.txt          (one code, "   3.0000000e+00")
    Landmarks/S005/001/S005_001_00000001_landmarks.txt      (68 lines "x y", one file per frame)

Only the 327 sequences with an Emotion file are labelled; the file is named after the
sequence's last (peak) frame and holds one code: 0 neutral, 1 anger, 2 contempt,
3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise. The last ``last_frames`` frames up to
the peak show the expression; the first ``neutral_frames`` frames are Neutral (CK+
sequences start from a neutral face). Subject = ``Sxxx``. No official split.

Landmarks. The CK+ paper tracks 68 points with an AAM; the markup is the Multi-PIE/iBUG
68-point scheme, the order dlib's predictor uses: jaw 0-16 (from the subject's right
ear, image-left), brows 17-26, nose 27-35, eyes 36-47 (subject's right eye first),
mouth 48-67. We have no CK+ copy to check that on, so every shipped point set is checked
at read time by ``check_ibug_order`` (brows above eyes, nose between eyes and mouth,
subject's right eye image-left of the left one, jaw around the eyes...); a set that fails
is not used (the entry's landmarks stay None, so the face preparation runs dlib) and is
reported in ``index.notes``.

Assumption on the origin: the points come from MATLAB AAM fitting, where the centre of
the top-left pixel is (1, 1); ``landmark_origin=1`` (default) is subtracted to reach
ferlens' convention (pixel centres at integers from 0). Set it to 0 if your copy turns
out to be 0-based. The difference is one pixel on 640x490 frames.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ferlens.datamodules.readers import register_reader
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.sources import DataError

#: CK+ emotion codes (Emotion/*_emotion.txt).
EMOTION_CODES = {0: "Neutral", 1: "Anger", 2: "Contempt", 3: "Disgust", 4: "Fear", 5: "Happiness", 6: "Sadness", 7: "Surprise"}
_NEUTRAL_CODE = 0
_EMOTION_NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)_emotion\.txt$")
_EXAMPLES = 3  # offending files named in a note


@register_reader("ckplus")
def read_ckplus(root: Path, class_names: list[str], last_frames: int = 3, neutral_frames: int = 1, landmark_origin: int = 1) -> DatasetIndex:
    """Index CK+ at ``root``: the last ``last_frames`` frames of every labelled sequence with
    its emotion, its first ``neutral_frames`` frames as Neutral (dropped and counted when
    Neutral is not a class); landmarks from the Landmarks files minus ``landmark_origin``
    (pixels)."""
    if last_frames < 1 or neutral_frames < 0:
        raise DataError(f"CK+ needs last_frames >= 1 and neutral_frames >= 0 (got {last_frames} and {neutral_frames}): fix the reader options.")
    images, emotions, landmark_dir = root / "cohn-kanade-images", root / "Emotion", root / "Landmarks"
    for folder, archive in ((images, "extended-cohn-kanade-images.zip"), (emotions, "Emotion_labels.zip")):
        if not folder.is_dir():
            raise DataError(f"CK+ folder '{folder}' does not exist: unpack {archive} into '{root}'.")
    mapper = LabelMapper(class_names, EMOTION_CODES)
    entries: list[DatasetEntry] = []
    missing: list[str] = []
    misnamed: list[str] = []
    labelled: set[tuple[str, str]] = set()
    without_landmarks = 0
    out_of_order: list[str] = []
    for emotion_file in sorted(emotions.glob("*/*/*_emotion.txt")):
        match = _EMOTION_NAME.match(emotion_file.name)
        if match is None:
            misnamed.append(emotion_file.relative_to(root).as_posix())
            continue
        subject, sequence, peak_text = match.groups()
        code = _read_emotion(emotion_file)
        labelled.add((subject, sequence))
        peak = int(peak_text)
        expression = list(range(max(1, peak - last_frames + 1), peak + 1))
        neutral = [frame for frame in range(1, neutral_frames + 1) if frame < expression[0]]
        for frames, raw in ((neutral, _NEUTRAL_CODE), (expression, code)):
            for frame in frames:
                label = mapper(raw)
                if label is None:
                    continue
                stem = f"{subject}_{sequence}_{frame:0{len(peak_text)}d}"
                path = images / subject / sequence / f"{stem}.png"
                key = path.relative_to(root).as_posix()
                if not path.is_file():
                    missing.append(key)
                    continue
                landmarks_file = landmark_dir / subject / sequence / f"{stem}_landmarks.txt"
                landmarks = None
                if landmarks_file.is_file():
                    landmarks = _read_landmarks(landmarks_file) - np.float32(landmark_origin)
                    reason = check_ibug_order(landmarks)
                    if reason is not None:
                        out_of_order.append(f"{key}: {reason}")
                        landmarks = None
                else:
                    without_landmarks += 1
                entries.append(DatasetEntry(key=key, label=label, path=path, subject=subject, landmarks=landmarks))
    sequences = sum(1 for p in images.glob("*/*") if p.is_dir())
    notes = []
    if sequences > len(labelled):
        notes.append(f"{sequences - len(labelled)} of {sequences} CK+ sequences have no Emotion file and are not used")
    if misnamed:
        notes.append(f"{len(misnamed)} files in Emotion not named Sxxx_yyy_zzzzzzzz_emotion.txt ignored ({', '.join(misnamed[:_EXAMPLES])})")
    if without_landmarks:
        notes.append(f"{without_landmarks} CK+ frames without a Landmarks file (the face preparation finds their points)")
    if out_of_order:
        notes.append(f"{len(out_of_order)} CK+ landmark files not in iBUG 68-point order, points not used ({'; '.join(out_of_order[:_EXAMPLES])})")
    entries.sort(key=lambda e: e.key)
    return DatasetIndex("ckplus", root, list(class_names), entries, mapper.dropped, sorted(missing), "dlib", notes)


def check_ibug_order(points: np.ndarray) -> str | None:
    """Why ``points`` ([68, 2] (x, y) image pixels, y down) are not the iBUG/dlib 68-point
    order of a roughly upright face (roll under 45 degrees), or None when they are."""
    p = np.asarray(points, dtype=np.float64)
    if p.shape != (68, 2) or not np.isfinite(p).all():
        return f"not 68 finite (x, y) points (shape {p.shape})"

    def centre(first: int, last: int) -> np.ndarray:
        return p[first : last + 1].mean(axis=0)

    brows, eyes, mouth = centre(17, 26), centre(36, 47), centre(48, 67)
    right_eye, left_eye, right_brow, left_brow = centre(36, 41), centre(42, 47), centre(17, 21), centre(22, 26)
    x, y = p[:, 0], p[:, 1]
    checks = [
        (brows[1] < eyes[1], "brows (17-26) not above the eyes (36-47)"),
        (eyes[1] < y[30] < mouth[1], "nose tip (30) not between the eyes and the mouth"),
        (np.all(np.diff(y[27:31]) > 0), "nose bridge (27-30) not running downwards"),
        (mouth[1] < y[8], "chin (8) not below the mouth (48-67)"),
        (y[51] < y[57], "upper lip (51) not above the lower lip (57)"),
        (left_eye[0] - right_eye[0] > abs(left_eye[1] - right_eye[1]), "subject's right eye (36-41) not image-left of the left eye (42-47)"),
        (right_brow[0] < left_brow[0], "subject's right brow (17-21) not image-left of the left brow (22-26)"),
        (x[0] < right_eye[0] and left_eye[0] < x[16], "jaw (0-16) not running from image-left to image-right around the eyes"),
        (x[36] < x[39] and x[42] < x[45] and x[48] < x[54], "eye corners (36/39, 42/45) or mouth corners (48/54) not ordered left to right"),
    ]
    return next((reason for ok, reason in checks if not ok), None)


def _read_emotion(path: Path) -> int:
    """The emotion code (0-7) in a CK+ emotion file."""
    text = path.read_text(errors="replace").strip()
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value not in EMOTION_CODES:
        raise DataError(f"CK+ emotion file '{path}' holds '{text[:40]}' instead of one emotion code 0-7: restore it from Emotion_labels.zip.")
    return int(value)


def _read_landmarks(path: Path) -> np.ndarray:
    """The [68, 2] float32 (x, y) points of a CK+ landmark file, as written (1-based)."""
    rows = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            x, y = (float(v) for v in line.split())
        except ValueError:
            text = line.strip()[:40]
            raise DataError(f"CK+ landmark file '{path}' line {number} reads '{text}', not two numbers 'x y': restore it from Landmarks.zip.") from None
        rows.append((x, y))
    if len(rows) != 68:
        raise DataError(f"CK+ landmark file '{path}' has {len(rows)} points instead of 68: restore it from Landmarks.zip.")
    return np.array(rows, dtype=np.float32)
