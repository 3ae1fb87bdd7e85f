"""What every artifact source returns, and the filters they share."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from analysis.heatmap_set import HeatmapSet
from formats.heatmap_artifact import HeatmapArtifact
from user_errors import UserError

log = logging.getLogger(__name__)


@dataclass
class Filters:
    """Keep only heatmap sets whose network, fold and method are listed (None keeps all)."""

    model: Sequence[str] | None = None
    fold: Sequence[int] | None = None
    method: Sequence[str] | None = None

    def keeps(self, network: str, method: str, fold: int | str | None) -> bool:
        return (not self.model or network in self.model) and (not self.fold or str(fold) in map(str, self.fold)) and (not self.method or method in self.method)

    def describe(self) -> str:
        chosen = [f"{name}={list(value)}" for name, value in vars(self).items() if value]
        return ", ".join(chosen) if chosen else "no filters"


@dataclass
class Collection:
    """The heatmap sets a source found, and what it skipped as (origin, reason)."""

    sets: list[HeatmapSet] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, origin: str, reason: str, strict: bool) -> None:
        """Record a damaged input (or raise when ``strict``); never silent."""
        if strict:
            raise UserError(reason)
        log.warning("skipped %s: %s", origin, reason)
        self.skipped.append((origin, reason))

    def add(self, heatmap_set: HeatmapSet) -> None:
        """Add a set; a second set with the same (network, method, fold) is an error."""
        clash = next((other for other in self.sets if other.key == heatmap_set.key), None)
        if clash is not None:
            network, method, fold = heatmap_set.key
            raise UserError(
                f"Two heatmap sets for network '{network}', method '{method}', fold {fold} ({clash.origin} and {heatmap_set.origin}): "
                "narrow the filters or tell them apart with source.label, e.g. source.label='{model}-{name}'."
            )
        self.sets.append(heatmap_set)


#: Default network label: the network, ``+AU<weight>`` when trained with AU guidance.
DEFAULT_LABEL = "{model}{guidance}"


def guidance_suffix(weight: float | None) -> str:
    """``""`` for a run trained without AU guidance (weight 0 or not recorded), else
    ``"+AU<weight>"``: the same network with and without guidance get two labels."""
    return f"+AU{weight:g}" if weight else ""


def run_label(manifest: dict, template: str) -> str:
    """Network label of an artifact from ``template`` (str.format over the manifest's run
    fields, e.g. '{model}' or '{model}-s{seed}', plus ``guidance``: ``guidance_suffix`` of
    the run's ``au_guidance`` weight)."""
    run = manifest.get("run", {})
    fields = {"guidance": guidance_suffix(run.get("au_guidance")), **run}
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as error:
        fields = sorted(fields)
        raise UserError(f"source.label '{template}' uses a field the artifact's run does not have ({error}): use fields of {fields}.") from error


def manifest_identity(manifest: dict, label: str) -> tuple[str, str, int]:
    """(network label, method, fold) of an artifact's manifest: the method is the saliency
    config key (else the method name); a missing fold becomes 1 (a single split)."""
    run, saliency = manifest.get("run", {}), manifest.get("saliency", {})
    fold = run.get("fold") if run.get("fold") is not None else 1
    return run_label(manifest, label), saliency.get("key") or saliency.get("method", "unknown"), fold


def from_artifact(artifact: HeatmapArtifact, origin: str, label: str) -> HeatmapSet:
    """A heatmap set from a verified artifact."""
    manifest = artifact.manifest
    network, method, fold = manifest_identity(manifest, label)
    return HeatmapSet(
        network=network,
        method=method,
        fold=fold,
        classes=artifact.classes,
        heatmaps=artifact.heatmaps.astype("float32"),
        counts=[int(manifest["counts"][name]) for name in artifact.classes],
        pretrained=manifest.get("run", {}).get("pretrained"),
        template=dict(manifest.get("template", {})),
        origin=origin,
    )
