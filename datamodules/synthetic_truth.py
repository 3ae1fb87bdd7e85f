"""Known truth for saliency on synthetic faces: where each class's AUs changed the face,
in template space, so an explainer's global heatmap can be checked against it."""

from __future__ import annotations

import numpy as np
import torch

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_WIDTH
from ferlens.faces.warp import TemplateWarper


def change_frequency(source: SyntheticFaces, indices: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """float [C, 275, 224] in template pixels: for each class, the share of its images among
    ``indices`` whose AUs changed each template pixel (``SyntheticFaces.au_region`` warped
    to the template with the image's exact landmarks, nearest sampling)."""
    labels = np.asarray(source.labels)[indices]
    warper = TemplateWarper(torch.device("cpu"))
    changed = np.zeros((len(source.class_names), TEMPLATE_HEIGHT, TEMPLATE_WIDTH))
    for start in range(0, len(indices), batch_size):
        chunk = indices[start : start + batch_size]
        regions = torch.from_numpy(np.stack([source.au_region(int(i)) for i in chunk]).astype(np.float32))
        landmarks = torch.from_numpy(np.stack([source[int(i)].landmarks for i in chunk]))
        warped = warper.to_template(regions, landmarks, "nearest").numpy()
        np.add.at(changed, labels[start : start + batch_size], warped)
    counts = np.bincount(labels, minlength=len(source.class_names)).astype(np.float64)
    return changed / np.maximum(counts, 1)[:, None, None]


def truth_regions(frequency: np.ndarray, min_share: float = 0.25) -> np.ndarray:
    """bool [C, 275, 224]: template pixels the class's AUs changed in at least ``min_share``
    of its images (the class's generating AU regions)."""
    return frequency >= min_share
