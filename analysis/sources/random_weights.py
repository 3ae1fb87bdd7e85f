"""The random-weights baseline read from disk (``baseline=`` of analyze.py): heatmaps of
random-weights models of the analysed networks, pooled and matched to them; the statistics
score them (``analysis/statistics/baselines.py``)."""

from __future__ import annotations

import logging
from dataclasses import replace

from ferlens.analysis.aggregate import pool_folds
from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.analysis.sources.base import Filters
from ferlens.analysis.sources.local import collect_local
from ferlens.analysis.statistics.baselines import architecture
from ferlens.user_errors import UserError

log = logging.getLogger(__name__)


def random_weight_sets(paths: str | list[str] | None, label: str, analysis) -> list[HeatmapSet]:
    """The pooled heatmap sets of random-weights runs under ``paths`` (run directories or
    artifacts), matched to the analysed sets by network (``architecture``) and method whatever
    their run labels, one copy per analysed label it matches; a set that matches none is an
    error naming what it could match."""
    if not paths:
        return []
    collection = collect_local([paths] if isinstance(paths, str) else list(paths), Filters(), label)
    labels: dict[tuple[str, str], list[str]] = {}
    for s in analysis.sets:
        if s.fold == POOLED and s.network not in labels.get((architecture(s), s.method), []):
            labels.setdefault((architecture(s), s.method), []).append(s.network)
    predicted = sorted({s.network for s in collection.sets if s.manifest is not None and s.manifest.selection.target == "predicted" and any(s.missing(1))})
    if predicted:
        log.warning(
            "The random-weights baseline %s was explained for its predicted classes and misses some: explain it for the true class "
            "(python train.py train=false callbacks.global_saliency.target=label ...), so that every class has a map.",
            ", ".join(predicted),
        )
    pooled = [s for s in pool_folds(collection.sets, analysis.min_count) if s.fold == POOLED]
    unmatched = sorted({f"{architecture(s)} · {s.method}" for s in pooled if (architecture(s), s.method) not in labels})
    if unmatched:
        networks = ", ".join(sorted(f"{network} · {method}" for network, method in labels))
        raise UserError(
            f"baseline heatmaps {', '.join(unmatched)} match no analysed network and method ({networks}): give random-weights runs of the same networks."
        )
    return [replace(s, network=name) for s in pooled for name in labels[architecture(s), s.method]]
