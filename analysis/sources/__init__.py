"""Artifact sources, chosen by the ``source`` config's ``_target_``: each is a small dataclass
whose ``collect(filters, strict)`` returns a ``Collection`` of heatmap sets. Any class with
that method, a ``kind`` and a ``where`` plugs in (``source._target_=my_package.MySource``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from ferlens.analysis.sources.base import DEFAULT_LABEL, Collection, Filters
from ferlens.analysis.sources.local import collect_local
from ferlens.analysis.sources.paper import REFERENCE_HEATMAPS, collect_paper
from ferlens.analysis.sources.wandb_project import collect_wandb
from ferlens.user_errors import UserError


@runtime_checkable
class Source(Protocol):
    """What ``analyze.py`` reads heatmap sets from."""

    kind: ClassVar[str]

    @property
    def where(self) -> str:
        """The place read from, for the log and the report header."""

    def collect(self, filters: Filters, strict: bool = False) -> Collection:
        """The heatmap sets that pass ``filters`` (``strict``: stop at the first damaged input)."""


def _as_paths(paths: str | Sequence[str] | None) -> list[str]:
    """``source.paths`` as a list: one path given without brackets is one path, not its characters."""
    if paths is None:
        return []
    return [str(paths)] if isinstance(paths, str) else [str(path) for path in paths]


@dataclass(frozen=True)
class LocalSource:
    """Heatmap artifacts on disk: run directories, W&B run directories inside them, or any
    folder above them (``source=local``)."""

    paths: list[str] = field(default_factory=lambda: ["logs/train"])
    label: str = DEFAULT_LABEL
    latest: bool = False
    kind: ClassVar[str] = "local"

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", _as_paths(self.paths))
        if not self.paths:
            raise UserError("source=local needs source.paths: run directories or folders above them, e.g. source.paths=[logs/train].")

    @property
    def where(self) -> str:
        return ", ".join(self.paths)

    def collect(self, filters: Filters, strict: bool = False) -> Collection:
        return collect_local(self.paths, filters, self.label, strict, self.latest)


@dataclass(frozen=True)
class PaperSource:
    """Heatmaps in Study 1's PNG layout (``source=paper``); ``root=None`` reads the study's 72
    pooled heatmaps vendored in this repository; ``pretrained`` names the ImageNet-initialised
    networks (dendrogram label colours)."""

    root: str | None = None
    method: str = "lime"
    pretrained: list[str] | None = None
    kind: ClassVar[str] = "paper"

    @property
    def where(self) -> str:
        return str(self.root or REFERENCE_HEATMAPS)

    def collect(self, filters: Filters, strict: bool = False) -> Collection:
        return collect_paper(self.where, filters, self.method, self.pretrained, strict)


@dataclass(frozen=True)
class WandbSource:
    """Every global-heatmaps artifact of a W&B project (``source=wandb``; the public API, so
    ``wandb login`` first), optionally of one sweep or group, or with one of ``tags``."""

    project: str
    sweep: str | None = None
    group: str | None = None
    tags: list[str] | None = None
    label: str = DEFAULT_LABEL
    latest: bool = False
    cache_dir: str = "~/.cache/ferlens/artifacts"
    kind: ClassVar[str] = "wandb"

    def __post_init__(self) -> None:
        if not self.project:
            raise UserError("source=wandb needs source.project=ENTITY/PROJECT.")

    @property
    def where(self) -> str:
        return self.project

    def collect(self, filters: Filters, strict: bool = False) -> Collection:
        return collect_wandb(
            self.project, filters, sweep=self.sweep, group=self.group, tags=self.tags, label=self.label,
            cache_dir=self.cache_dir, strict=strict, latest=self.latest,
        )  # fmt: skip


def checked_source(source: Any, target: str) -> Source:
    """``source`` as instantiated from ``source._target_ = target``, refused in one sentence
    when it is not a source."""
    if not isinstance(source, Source):
        example = f"{LocalSource.__module__}.LocalSource"
        raise UserError(f"source._target_={target} is not a heatmap source: name a class with kind, where and collect(filters, strict), e.g. {example}.")
    return source


__all__ = ["Collection", "Filters", "LocalSource", "PaperSource", "Source", "WandbSource", "checked_source"]
