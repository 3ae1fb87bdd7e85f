"""JAFFE (Japanese Female Facial Expression) in its official layout.

Gray 256x256 TIFF images named ``KA.AN1.39.tiff`` (also ``.tif``), in any subfolder of
``root``: subject (``KA``), expression + repetition (``AN1``; AN, DI, FE, HA, NE, SA, SU),
image number. Subject = the first token. No official split. Non-image files (the README)
are ignored; images named otherwise are counted in the notes.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ferlens.datamodules.readers import register_reader
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.sources import IMAGE_SUFFIXES

#: JAFFE expression codes (first two letters of the second name token).
EXPRESSION_CODES = {"AN": "Anger", "DI": "Disgust", "FE": "Fear", "HA": "Happiness", "NE": "Neutral", "SA": "Sadness", "SU": "Surprise"}
_NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})\d*\.\d+\.tiff?$", re.IGNORECASE)
_EXAMPLES = 3  # offending files named in a note


@register_reader("jaffe")
def read_jaffe(root: Path, class_names: list[str]) -> DatasetIndex:
    """Index JAFFE at ``root`` from the image file names."""
    mapper = LabelMapper(class_names, EXPRESSION_CODES)
    entries: list[DatasetEntry] = []
    misnamed: list[str] = []
    unknown: Counter = Counter()
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        key = path.relative_to(root).as_posix()
        match = _NAME.match(path.name)
        if match is None:
            misnamed.append(key)
            continue
        subject, expression = match.group(1).upper(), match.group(2).upper()
        if expression not in EXPRESSION_CODES:
            unknown[expression] += 1
            continue
        label = mapper(expression)
        if label is not None:
            entries.append(DatasetEntry(key=key, label=label, path=path, subject=subject))
    notes = []
    if unknown:
        notes.append("JAFFE images with unknown expression codes ignored: " + ", ".join(f"{code} {n}" for code, n in sorted(unknown.items())))
    if misnamed:
        notes.append(f"{len(misnamed)} images not named like KA.AN1.39.tiff ignored ({', '.join(misnamed[:_EXAMPLES])})")
    return DatasetIndex("jaffe", root, list(class_names), entries, mapper.dropped, [], "dlib", notes)
