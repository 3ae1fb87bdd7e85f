"""``source=paper``: heatmaps in Study 1's PNG layout.

``<Net>_<Expr>_heatmap.png`` is a network's heatmap pooled over its folds;
``<Net>_CV<k>_<Expr>_heatmap.png`` the heatmap of fold k. Gray 8-bit, 275x224.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.analysis.sources.base import Collection, Filters
from ferlens.faces.template import TEMPLATE_HEIGHT, TEMPLATE_NAME, TEMPLATE_WIDTH
from ferlens.formats.expressions import CLASSES_7
from ferlens.user_errors import UserError

#: The study's 72 pooled heatmaps vendored in this repository (found from this file, not the cwd).
REFERENCE_HEATMAPS = Path(__file__).resolve().parents[2] / "reference" / "ekman" / "heatmaps_by_net"
FILE_PATTERN = re.compile(r"^(?P<network>.+?)(?:_CV(?P<fold>\d+))?_(?P<expression>[A-Za-z]+)_heatmap\.png$")


def _class_order(names: set[str]) -> list[str]:
    """The project's class order, then any other expression names alphabetically."""
    return [name for name in CLASSES_7 if name in names] + sorted(names - set(CLASSES_7))


def collect_paper(root: str | Path, filters: Filters, method: str = "lime", pretrained: list[str] | None = None, strict: bool = False) -> Collection:
    """Every (network, fold) of ``root`` with a readable heatmap for each expression found
    there; ``pretrained`` names the ImageNet-initialised networks (for figure colours)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"source.root '{root}' is not a directory: point it at a folder of <Net>_<Expr>_heatmap.png files.")
    files: dict[tuple[str, int | str], dict[str, Path]] = defaultdict(dict)
    for path in sorted(root.glob("*_heatmap.png")):
        match = FILE_PATTERN.match(path.name)
        if match:
            fold = int(match["fold"]) if match["fold"] else POOLED
            files[match["network"], fold][match["expression"]] = path
    classes = _class_order({expression for group in files.values() for expression in group})
    collection = Collection()
    for (network, fold), by_expression in sorted(files.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        origin = str(root / (f"{network}_{'' if fold == POOLED else f'CV{fold}_'}<Expr>_heatmap.png"))
        if not filters.keeps(network, method, fold):
            continue
        missing = [name for name in classes if name not in by_expression]
        if missing:
            collection.skip(origin, f"{network} fold {fold} has no heatmap for {', '.join(missing)}: add the files or remove the network's others.", strict)
            continue
        images = [cv2.imread(str(by_expression[name]), cv2.IMREAD_GRAYSCALE) for name in classes]
        shape = (TEMPLATE_HEIGHT, TEMPLATE_WIDTH)
        broken = [by_expression[name].name for name, image in zip(classes, images, strict=True) if image is None or image.shape != shape]
        if broken:
            collection.skip(origin, f"{', '.join(broken)} cannot be read as a {TEMPLATE_WIDTH}x{TEMPLATE_HEIGHT} gray image: replace the file(s).", strict)
            continue
        collection.add(
            HeatmapSet(
                network=network,
                method=method,
                fold=fold,
                classes=classes,
                heatmaps=np.stack(images).astype(np.float32) / 255,
                pretrained=None if pretrained is None else network in pretrained,
                template={"name": TEMPLATE_NAME, "width": TEMPLATE_WIDTH, "height": TEMPLATE_HEIGHT},
                origin=origin,
                from_gray=True,
            )
        )
    return collection
