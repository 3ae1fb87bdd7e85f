"""Artifact sources behind one call: ``collect(source_config)`` -> ``Collection``."""

from __future__ import annotations

from typing import Any

from ferlens.analysis.sources.base import DEFAULT_LABEL, Collection, Filters
from ferlens.analysis.sources.local import collect_local
from ferlens.analysis.sources.paper import REFERENCE_HEATMAPS, collect_paper
from ferlens.analysis.sources.wandb_project import collect_wandb
from ferlens.user_errors import UserError

SOURCES = ("local", "paper", "wandb")


def source_options(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options of source ``kind`` with their defaults filled in: source=paper without a
    root reads the study's heatmaps vendored in this repository (``REFERENCE_HEATMAPS``)."""
    if kind == "paper" and not options.get("root"):
        return {**options, "root": str(REFERENCE_HEATMAPS)}
    return options


def collect(kind: str, options: dict[str, Any], filters: Filters, strict: bool = False) -> Collection:
    """Heatmap sets from source ``kind`` with its ``options`` (the ``source`` config)."""
    options = source_options(kind, options)
    if kind == "local":
        if not options.get("paths"):
            raise UserError("source=local needs source.paths: run directories or folders above them, e.g. source.paths=[logs/train].")
        return collect_local(list(options["paths"]), filters, options.get("label", DEFAULT_LABEL), strict, bool(options.get("latest")))
    if kind == "paper":
        return collect_paper(options["root"], filters, options.get("method", "lime"), options.get("pretrained"), strict)
    if kind == "wandb":
        if not options.get("project"):
            raise UserError("source=wandb needs source.project=ENTITY/PROJECT.")
        return collect_wandb(
            options["project"],
            filters,
            sweep=options.get("sweep"),
            group=options.get("group"),
            tags=options.get("tags"),
            label=options.get("label", DEFAULT_LABEL),
            cache_dir=options.get("cache_dir", "~/.cache/ferlens/artifacts"),
            strict=strict,
            latest=bool(options.get("latest")),
        )
    raise UserError(f"Unknown source '{kind}': use one of {', '.join(SOURCES)}.")


__all__ = ["SOURCES", "Collection", "Filters", "collect", "source_options"]
