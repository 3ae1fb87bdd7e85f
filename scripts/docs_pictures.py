"""The pictures of the README and the documentation site, from files in the repository:
``python scripts/docs_pictures.py`` rewrites ``docs/images/heatmap-grid.png``.

The heatmap grid is ferlens' own report figure (``analysis.report.figures.heatmap_grid``, what
``analyze.py`` writes to ``figures/heatmaps__<method>.png``) over Study 1's vendored global
LIME heatmaps (``reference/ekman/heatmaps_by_net``, pooled over the folds): the study's best
and worst networks by IoU against the Ekman masks (ResNet50, AlexNet) and two others.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

from ferlens.analysis.sources.base import Filters
from ferlens.analysis.sources.paper import collect_paper

ROOT = Path(__file__).resolve().parents[1]
#: The rows of the grid: Study 1's best (ResNet50) and worst (AlexNet) network by IoU, and two more.
NETWORKS = ["ResNet50", "VGG16", "WeiNet", "AlexNet"]


def heatmap_grid_picture(output: Path, dpi: int = 72) -> Path:
    """Draw the study's pooled LIME heatmaps of ``NETWORKS`` (rows) for its six expressions."""
    from ferlens.analysis.report.figures import heatmap_grid

    collection = collect_paper(ROOT / "reference" / "ekman" / "heatmaps_by_net", Filters())
    sets = {heatmap_set.network: heatmap_set for heatmap_set in collection.sets}
    classes = sets[NETWORKS[0]].classes
    grays = {name: [(plane * 255).round().astype("uint8") for plane in sets[name].heatmaps] for name in NETWORKS}
    figure = heatmap_grid(grays, classes, {name: None for name in NETWORKS})
    figure.suptitle("Study 1's global LIME heatmaps (reference/ekman), drawn by ferlens' report", fontsize=9)
    output.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=dpi, format="png")
    # a 256-colour palette keeps the JET maps and the text, at a third of the file's size
    Image.open(buffer).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(output, optimize=True)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "images" / "heatmap-grid.png")
    print(heatmap_grid_picture(parser.parse_args().output))


if __name__ == "__main__":
    main()
