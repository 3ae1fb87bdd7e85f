"""KDEF (Karolinska Directed Emotional Faces) in its official layout.

``root`` is the folder holding ``KDEF/`` or the ``KDEF`` folder itself; images are
``KDEF/AF01/AF01ANS.JPG`` (color JPG, 562x762). A name reads ``A F 01 AN S``: session
(A/B), gender (F/M), identity (2 digits), expression (AF afraid, AN angry, DI disgusted,
HA happy, NE neutral, SA sad, SU surprised), angle (S straight, HL/HR half left/right,
FL/FR full left/right). Subject = gender + identity (``F01``, the same person in both
sessions). No official split.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ferlens.datamodules.readers import register_reader
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.sources import IMAGE_SUFFIXES, DataError

#: KDEF expression codes (name characters 5-6).
EXPRESSION_CODES = {"AF": "Fear", "AN": "Anger", "DI": "Disgust", "HA": "Happiness", "NE": "Neutral", "SA": "Sadness", "SU": "Surprise"}
#: KDEF view angles (the name's last characters).
ANGLES = ("S", "HL", "HR", "FL", "FR")
_NAME = re.compile(r"^([AB])([FM])(\d{2})([A-Z]{2})([A-Z]{1,2})$")
_EXAMPLES = 3  # offending files named in a note


@register_reader("kdef")
def read_kdef(root: Path, class_names: list[str], angles: Sequence[str] = ("S",)) -> DatasetIndex:
    """Index KDEF at ``root``, keeping the views whose angle code is in ``angles``
    (straight views by default)."""
    wanted = {str(angle).upper() for angle in angles}
    if not wanted or not wanted <= set(ANGLES):
        raise DataError(f"KDEF angles {list(angles)} are not a non-empty subset of {', '.join(ANGLES)}: fix the reader option angles.")
    base = root / "KDEF" if (root / "KDEF").is_dir() else root
    mapper = LabelMapper(class_names, EXPRESSION_CODES)
    entries: list[DatasetEntry] = []
    misnamed: list[str] = []
    unknown: Counter = Counter()
    other_angles: Counter = Counter()
    for path in sorted(p for p in base.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        key = path.relative_to(root).as_posix()
        match = _NAME.match(path.stem.upper())
        if match is None:
            misnamed.append(key)
            continue
        _, gender, identity, expression, angle = match.groups()
        if expression not in EXPRESSION_CODES:
            unknown[f"expression {expression}"] += 1
        elif angle not in ANGLES:
            unknown[f"angle {angle}"] += 1
        elif angle not in wanted:
            other_angles[angle] += 1
        else:
            label = mapper(expression)
            if label is not None:
                entries.append(DatasetEntry(key=key, label=label, path=path, subject=gender + identity))
    notes = []
    if unknown:
        notes.append("KDEF files with unknown codes ignored: " + ", ".join(f"{code} {n}" for code, n in sorted(unknown.items())))
    if misnamed:
        notes.append(f"{len(misnamed)} images not named like AF01ANS.JPG ignored ({', '.join(misnamed[:_EXAMPLES])})")
    if other_angles:
        skipped = ", ".join(f"{angle} {n}" for angle, n in sorted(other_angles.items()))
        notes.append(f"KDEF views at other angles than {'/'.join(sorted(wanted))} skipped: {skipped}")
    return DatasetIndex("kdef", root, list(class_names), entries, mapper.dropped, [], "dlib", notes)
