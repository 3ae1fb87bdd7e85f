"""Screenshots of report/index.html's first screen at 1280x800 in headless Chromium, for the README.

python scripts/report_screenshots.py                                   # the study (source=paper) -> docs/images/report_paper.png
python scripts/report_screenshots.py --run logs/train/<run> --name default   # a run of `python train.py` -> docs/images/report_default.png

Each report is made with ``analyze.py`` into a temporary folder; Chromium is Debian's ``chromium``
(``--chromium`` another), driven by playwright.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def make_report(run: str | None, directory: Path) -> Path:
    """``analyze.py`` on ``run`` (None: source=paper) into ``directory``; returns report/index.html."""
    source = ["source=paper"] if run is None else [f"source.paths=[{Path(run).resolve()}]"]
    subprocess.run([sys.executable, str(ROOT / "analyze.py"), *source, f"report_dir={directory}", "progress=false"], check=True, cwd=ROOT)
    return directory / "report" / "index.html"


def screenshot(page_path: Path, out: Path, chromium: str) -> None:
    """The first screen (1280x800) of ``page_path`` as a PNG at ``out`` (64 colours)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=False)
        browser.close()
    from PIL import Image

    Image.open(out).convert("RGB").quantize(colors=64).save(out, optimize=True)  # a small PNG for the repository


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a run directory (default: the study's heatmaps, source=paper)")
    parser.add_argument("--name", default="paper", help="the screenshot's name: docs/images/report_<name>.png")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        page = make_report(arguments.run, Path(folder) / "report")
        out = ROOT / "docs" / "images" / f"report_{arguments.name}.png"
        screenshot(page, out, arguments.chromium)
    print(f"{out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
