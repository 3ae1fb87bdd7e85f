"""Expression names as datasets spell them -> the canonical class names of ferlens.

``canonical_expression("angry") == "Anger"``; names of expressions outside the seven
(contempt, none, uncertain, non-face, unknown) map to None and are counted by readers.
"""

from __future__ import annotations

import re

from ferlens.formats.expressions import CLASSES_7

_SYNONYMS = {
    "Anger": ("anger", "angry", "an", "ang", "mad"),
    "Disgust": ("disgust", "disgusted", "disgusting", "di", "dis"),
    "Fear": ("fear", "fearful", "afraid", "scared", "fe", "af"),
    "Happiness": ("happiness", "happy", "joy", "ha", "hap", "smile", "smiling"),
    "Sadness": ("sadness", "sad", "sa"),
    "Surprise": ("surprise", "surprised", "su", "sur"),
    "Neutral": ("neutral", "ne", "neu", "calm"),
}
_LOOKUP = {alias: name for name, aliases in _SYNONYMS.items() for alias in aliases}


def canonical_expression(name: str) -> str | None:
    """The canonical class name (one of ``CLASSES_7``) that ``name`` means, any case and
    with separators ignored (``"HAPPY"``, ``"Fearful"``, ``"surprised"``), else None."""
    key = re.sub(r"[^a-z]", "", name.lower())
    return _LOOKUP.get(key)


assert set(_SYNONYMS) == set(CLASSES_7)
