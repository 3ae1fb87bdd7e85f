"""Mask families: binary masks [275, 224] on the template face, one per expression."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ferlens.faces.au import AU_CODEBOOK, au_template_mask
from ferlens.faces.ekman_masks import EKMAN_MASK_REGIONS, ekman_mask
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH
from ferlens.user_errors import UserError

MaskFamily = dict[str, np.ndarray]  # expression -> bool [275, 224]


def ekman_family() -> MaskFamily:
    """Friesen & Ekman regions of Study 1, redrawn from template landmarks."""
    return {expression: ekman_mask(expression) for expression in EKMAN_MASK_REGIONS}


def au_family() -> MaskFamily:
    """Union of each expression's AU-codebook regions (Study 2) on the template face."""
    return {expression: au_template_mask(expression) for expression, aus in AU_CODEBOOK.items() if aus}


def directory_family(directory: str | Path) -> MaskFamily:
    """Masks read from ``<Expression>.png`` or ``<Expression>_gt.png`` files (275x224, any
    channel count; pixel > 127 is inside), e.g. the study's originals in reference/ekman/gt."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"Mask directory '{directory}' does not exist: give a directory of <Expression>_gt.png or <Expression>.png files.")
    family: MaskFamily = {}
    for path in sorted(directory.glob("*.png")):
        expression = path.stem.removesuffix("_gt")
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise UserError(f"Mask '{path}' cannot be read as an image: replace or remove it.")
        if image.shape != (TEMPLATE_HEIGHT, TEMPLATE_WIDTH):
            size = f"{image.shape[1]}x{image.shape[0]}"
            raise UserError(f"Mask '{path}' is {size}, not the template's {TEMPLATE_WIDTH}x{TEMPLATE_HEIGHT}: draw it on the template face.")
        family[expression] = image > 127
    if not family:
        raise UserError(f"Mask directory '{directory}' holds no PNG files: give a directory of <Expression>_gt.png or <Expression>.png files.")
    return family


def load_families(spec: dict[str, str]) -> dict[str, MaskFamily]:
    """``{name: "ekman" | "au" | <directory>}`` -> ``{name: family}``."""
    builders = {"ekman": ekman_family, "au": au_family}
    return {name: builders[kind]() if kind in builders else directory_family(kind) for name, kind in spec.items()}
