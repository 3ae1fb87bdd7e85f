"""FACS action units as landmark displacements, and the expression prototypes built from them.

Displacements are in face units (1.0 = jaw width, y down) at full intensity; a rendered
AU also draws its texture cue (see ``face_drawing``). Prototypes follow docs/SPEC.md
("Facial expression prototypes").
"""

from __future__ import annotations

import numpy as np

Displacement = list[tuple[int, float, float]]  # (landmark index, dx, dy)


def _mirror(pairs: list[tuple[int, int]], outward: float, dy: float) -> Displacement:
    """Symmetric move: each (image-left index, image-right index) pair moves `outward` away
    from the face midline and `dy` down."""
    moves: Displacement = []
    for left_side, right_side in pairs:
        moves += [(left_side, -outward, dy), (right_side, outward, dy)]
    return moves


def _down(indices: list[int], dy: float) -> Displacement:
    return [(i, 0.0, dy) for i in indices]


AU_DISPLACEMENTS: dict[int, Displacement] = {
    # inner brow raiser
    1: _mirror([(21, 22)], 0.0, -0.055) + _mirror([(20, 23)], 0.0, -0.04) + _mirror([(19, 24)], 0.0, -0.02),
    # outer brow raiser
    2: _mirror([(17, 26)], 0.0, -0.055) + _mirror([(18, 25)], 0.0, -0.045) + _mirror([(19, 24)], 0.0, -0.025),
    # brow lowerer: brows down and together
    4: _mirror([(21, 22)], -0.03, 0.04)
    + _mirror([(20, 23)], -0.015, 0.035)
    + _mirror([(19, 24)], 0.0, 0.025)
    + _mirror([(18, 25)], 0.0, 0.012)
    + _mirror([(37, 44), (38, 43)], 0.0, 0.008),
    # upper lid raiser
    5: _mirror([(37, 44), (38, 43)], 0.0, -0.028),
    # cheek raiser: lower lids pushed up from below
    6: _mirror([(41, 46), (40, 47)], 0.0, -0.012),
    # lid tightener
    7: _mirror([(41, 46), (40, 47)], 0.0, -0.018) + _mirror([(37, 44), (38, 43)], 0.0, 0.008),
    # nose wrinkler: nostrils and upper lip pulled up, inner brows down
    9: _down([31, 32, 33, 34, 35], -0.022) + _down([29, 30], -0.006) + _mirror([(21, 22)], 0.0, 0.018) + _down([50, 51, 52, 61, 62, 63], -0.012),
    # upper lip raiser
    10: _down([49, 50, 51, 52, 53], -0.032) + _down([61, 62, 63], -0.026),
    # lip corner puller
    12: _mirror([(48, 54), (60, 64)], 0.045, -0.038) + _mirror([(49, 53), (59, 55), (61, 63), (67, 65)], 0.015, -0.015),
    # lip corner depressor
    15: _mirror([(48, 54), (60, 64)], 0.0, 0.038) + _mirror([(49, 53), (59, 55)], 0.0, 0.012),
    # lower lip depressor
    16: _down([55, 56, 58, 59, 65, 67], 0.026) + _down([57, 66], 0.032),
    # chin raiser
    17: _down([7, 8, 9], -0.012) + _down([56, 57, 58, 65, 66, 67], -0.012),
    # lip stretcher
    20: _mirror([(48, 54), (60, 64)], 0.05, 0.006) + _mirror([(49, 53), (59, 55)], 0.022, 0.0),
    # lip tightener: thin lips, corners in
    23: _down([49, 50, 51, 52, 53], 0.014) + _down([55, 56, 57, 58, 59], -0.014) + _mirror([(48, 54)], -0.012, 0.0),
    # lips part
    25: _down([61, 62, 63], -0.004) + _down([65, 66, 67], 0.016) + _down([55, 56, 57, 58, 59], 0.01),
    # eyes closed: the upper lids down onto the lower ones (the mean shape's eye opening is 0.058)
    43: _mirror([(37, 44), (38, 43)], 0.0, 0.05) + _mirror([(41, 46), (40, 47)], 0.0, -0.006),
    # jaw drop
    26: _down([4, 12], 0.02)
    + _down([5, 11], 0.04)
    + _down([6, 10], 0.06)
    + _down([7, 9], 0.075)
    + _down([8], 0.08)
    + _down([55, 56, 58, 59, 65, 67], 0.065)
    + _down([57, 66], 0.075),
}

#: Expression prototypes (docs/SPEC.md); a class may have alternatives, one is drawn per image.
PROTOTYPES: dict[str, list[tuple[int, ...]]] = {
    "Anger": [(4, 5, 7, 23)],
    "Disgust": [(9, 15, 16), (9, 10)],
    "Fear": [(1, 2, 4, 5, 7, 20, 26)],
    "Happiness": [(6, 12)],
    "Sadness": [(1, 4, 15)],
    "Surprise": [(1, 2, 5, 26)],
    "Neutral": [()],
}


#: Prototypes whose classes differ in where their AUs act, top to bottom: brows and forehead
#: (AU1+2), eyelids (AU5+7), cheeks (AU6), nose (AU9), lip corners (AU12), chin (AU17). A
#: known-truth set for specificity: each class has its own generating region.
DISTINCT_PROTOTYPES: dict[str, list[tuple[int, ...]]] = {
    "Anger": [(1, 2)],
    "Disgust": [(9,)],
    "Fear": [(5, 7)],
    "Happiness": [(12,)],
    "Sadness": [(17,)],
    "Surprise": [(6,)],
    "Neutral": [()],
}
#: The hardest face of each expression for a landmark predictor (meant with intensity 1):
#: brows lowered, eyes squeezed shut, nose wrinkled, lip corners pulled down, jaw dropped.
#: Known truth for face preparation (``datamodules.face_calibration``), not for training.
FULL_PROTOTYPES: dict[str, list[tuple[int, ...]]] = {
    "Anger": [(4, 5, 7, 23)],
    "Disgust": [(4, 9, 10, 15, 16, 43)],
    "Fear": [(1, 2, 4, 5, 7, 20, 26)],
    "Happiness": [(6, 12, 25, 26, 43)],
    "Sadness": [(1, 4, 15, 17, 43)],
    "Surprise": [(1, 2, 5, 26)],
    "Neutral": [()],
}
#: ``SyntheticFaces(prototypes=...)`` by name
PROTOTYPE_SETS = {"facs": PROTOTYPES, "distinct": DISTINCT_PROTOTYPES, "full": FULL_PROTOTYPES}


def displace(shape: np.ndarray, intensities: dict[int, float]) -> np.ndarray:
    """Apply AUs to a [68, 2] shape in face units; `intensities` maps AU -> [0, 1]."""
    moved = shape.copy()
    for au, intensity in intensities.items():
        for index, dx, dy in AU_DISPLACEMENTS[au]:
            moved[index, 0] += dx * intensity
            moved[index, 1] += dy * intensity
    return moved
