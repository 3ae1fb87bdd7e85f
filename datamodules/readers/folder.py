"""Images sorted into one folder per expression: ``root/<Class>/...`` (any depth below the
class folder), optionally under official split folders ``root/train|val|test/<Class>/...``
(the FER2013 Kaggle image layout).

Class folder names go through ``canonical_expression``, so ``angry``, ``Anger``,
``disgusted``, ``fearful``, ``afraid``, ``happy``, ``sad``, ``surprised``, ``neutral``
(any case) all count; a folder naming no class of the run is reported by name and image
count in ``index.dropped`` (``contempt``, or ``Neutral`` with six classes), never lost
silently. Non-image files are ignored; images outside class folders are counted in the
notes.
"""

from __future__ import annotations

import re
from pathlib import Path

from ferlens.datamodules.readers import register_reader
from ferlens.datamodules.readers.base import DatasetEntry, DatasetIndex, LabelMapper
from ferlens.datamodules.readers.labels import canonical_expression
from ferlens.datamodules.sources import IMAGE_SUFFIXES, DataError

#: Official split folder names (any case) -> split.
SPLIT_FOLDERS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
_EXAMPLES = 3  # offending files named in a note


@register_reader("folder")
def read_folder(root: Path, class_names: list[str], subject_pattern: str | None = r"^([^_]+)_", split_folders: bool | None = None) -> DatasetIndex:
    """Index the class folders under ``root``.

    Args:
        subject_pattern: regex searched in the file name, group 1 = subject (the whole stem
            when it does not match); None when the files carry no subject (FER2013's
            ``Training_123.jpg``).
        split_folders: read ``train/``, ``test/`` (and ``val/``) as the official split;
            None: whenever ``root`` holds both ``train/`` and ``test/``.
    """
    pattern = _subject_regex(subject_pattern)
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    splits = [(p, SPLIT_FOLDERS[p.name.lower()]) for p in folders if p.name.lower() in SPLIT_FOLDERS]
    has_splits = {"train", "test"} <= {split for _, split in splits}
    if split_folders and not has_splits:
        raise DataError(f"'{root}' has no train/ and test/ folders of class folders: set the folder reader's split_folders to false or null.")
    use_splits = has_splits if split_folders is None else split_folders
    bases: list[tuple[Path, str | None]] = splits if use_splits else [(root, None)]
    mapper = LabelMapper(class_names)
    entries: list[DatasetEntry] = []
    stray = [p for base, _ in bases for p in base.iterdir() if _is_image(p)]
    if use_splits:
        stray += [p for p in root.iterdir() if _is_image(p)]
        stray += [p for folder in folders if folder.name.lower() not in SPLIT_FOLDERS for p in folder.rglob("*") if _is_image(p)]
    empty = []
    for base, split in bases:
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            images = sorted(p for p in folder.rglob("*") if _is_image(p))
            if not images and canonical_expression(folder.name) in class_names:
                empty.append(folder.relative_to(root).as_posix())
            for path in images:
                label = mapper(folder.name)
                if label is not None:
                    subject = None if pattern is None else _subject(path, pattern)
                    entries.append(DatasetEntry(key=path.relative_to(root).as_posix(), label=label, path=path, subject=subject, split=split))
    notes = [f"empty class folder {name}" for name in empty]
    if stray:
        examples = ", ".join(sorted(p.relative_to(root).as_posix() for p in stray)[:_EXAMPLES])
        notes.append(f"{len(stray)} images outside class folders ignored ({examples})")
    entries.sort(key=lambda e: e.key)
    return DatasetIndex("folder", root, list(class_names), entries, mapper.dropped, [], "dlib", notes)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _subject_regex(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise DataError(f"subject_pattern '{pattern}' is not a valid regular expression ({error}): fix the folder reader's option.") from None
    if compiled.groups < 1:
        raise DataError(f"subject_pattern '{pattern}' has no group: put the subject part in parentheses, e.g. '^([^_]+)_'.")
    return compiled


def _subject(path: Path, pattern: re.Pattern[str]) -> str:
    match = pattern.search(path.name)
    return match.group(1) if match else path.stem
