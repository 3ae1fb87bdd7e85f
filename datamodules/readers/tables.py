"""Reading the CSV annotation files of the readers (AffectNet file lists, FER2013)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ferlens.datamodules.sources import DataError


def read_text_table(path: Path) -> pd.DataFrame:
    """The CSV ``path`` with every column as text (empty cells as ""), a BOM ignored; a
    malformed line is one sentence naming it."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.ParserError as error:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        where = f"Line {found[2]} of '{path}' has {found[3]} fields instead of {found[1]}" if found else f"'{path}' is not a readable CSV file ({error})"
        raise DataError(f"{where}: fix or remove that line.") from None
