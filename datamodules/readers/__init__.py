"""Dataset reader registry (a ``ferlens.registry.Registry``, like the explainers'):
``register_reader(name)`` on a function,
``available_readers()``, ``read_dataset(name, root, class_names, **options)``.

A user's own reader needs no registration: ``data=custom data.reader._target_=...``
(``readers.custom``, which also states what its records hold).

A registered reader is ``fn(root: Path, class_names: list[str], **options) -> DatasetIndex``: it
parses the dataset's own files in its official layout, maps its labels to the canonical
classes (dropping and counting the rest by name) and reports files it cannot find. One
file per dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ferlens.datamodules.readers.base import DatasetIndex
from ferlens.datamodules.readers.custom import read_with, reader_name
from ferlens.datamodules.sources import DataError
from ferlens.registry import Registry

Reader = Callable[..., DatasetIndex]

#: Registered readers by name (the ``data.reader`` of the data configs).
READERS: Registry[Reader] = Registry(
    "dataset reader", DataError, refusal="{Kind} '{name}' has no option {unknown}: its options are {accepted}.", supplied=("root", "class_names")
)


def register_reader(name: str) -> Callable[[Reader], Reader]:
    """Function decorator registering a dataset reader as ``name``."""
    return READERS.register(name)


def available_readers() -> list[str]:
    return READERS.names()


def read_dataset(name: str | Reader, root: str | Path, class_names: list[str], **options: object) -> DatasetIndex:
    """Index dataset ``name`` at ``root`` for ``class_names``; one sentence for an unknown
    reader, an unknown option, a missing folder or a dataset with no usable face. ``name`` is a
    registered reader, or a user's own reader (a callable, e.g. Hydra's partial of
    ``data.reader._target_``: ``readers.custom``)."""
    own = callable(name)
    if not own:
        READERS.check_keywords(name, options)
    label = reader_name(name) if own else name
    location = Path(root).expanduser()
    if not location.is_dir():
        raise DataError(f"Dataset folder '{location}' does not exist: set data.root to the folder where {label} was unpacked.")
    index = read_with(name, location, list(class_names), **options) if own else READERS.get(name)(location, list(class_names), **options)
    name = label
    if not index.entries:
        raise DataError(
            f"No labelled faces of the classes {', '.join(class_names)} under '{location}' ({index.describe()}): check data.root and the dataset layout."
        )
    empty = [name for name, count in index.class_counts().items() if count == 0]
    if empty:
        hint = " or set data.neutral=false" if empty == ["Neutral"] else ""
        classes = f"class{'es' if len(empty) > 1 else ''} {', '.join(empty)}"
        raise DataError(
            f"{name} under '{location}' has no image of the {classes} ({index.describe()}): add them{hint}, since a model cannot learn a class it never sees."
        )
    return index


from ferlens.datamodules.readers import affectnet, ckplus, csv_manifest, expw, fer2013, folder, jaffe, kdef, rafdb  # noqa: E402,F401  (registers)
