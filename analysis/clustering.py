"""Similarity between networks' heatmaps of one expression: 1 - Pearson r, average linkage."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.cluster.hierarchy import cophenet, fcluster, linkage
from scipy.spatial.distance import squareform


def correlation_matrix(maps: np.ndarray) -> np.ndarray:
    """Pearson r [N, N] between N maps [N, H, W] (the normalized correlation coefficient of
    the images). A constant map correlates 0 with every other (r is undefined)."""
    flat = maps.reshape(len(maps), -1).astype(np.float64)
    centred = flat - flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    r = (centred @ centred.T) / np.outer(safe, safe)
    r[norms == 0, :] = 0.0
    r[:, norms == 0] = 0.0
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


@dataclass
class Clustering:
    """Average-linkage clustering of labelled maps.

    distances: [N, N] = 1 - r. linkage: scipy linkage matrix [N-1, 4] (None when N < 2).
    cophenetic: cophenetic correlation of the tree with ``distances`` (NaN when N < 3).
    excluded: labels left out of the clustering (their map is missing: an empty class).
    """

    labels: list[str]
    distances: np.ndarray
    linkage: np.ndarray | None
    cophenetic: float
    excluded: list[str] = field(default_factory=list)

    def groups(self, count: int = 2) -> list[list[str]]:
        """The labels of the ``count`` top clusters of the tree (one group when N < 2)."""
        if self.linkage is None:
            return [list(self.labels)]
        assignment = fcluster(self.linkage, t=count, criterion="maxclust")
        order = list(dict.fromkeys(assignment))
        return [[label for label, a in zip(self.labels, assignment, strict=True) if a == group] for group in order]


def cluster_maps(labels: list[str], maps: np.ndarray, excluded: list[str] | None = None) -> Clustering:
    """Cluster maps [N, H, W] (N >= 0) by 1 - Pearson r with average linkage; ``excluded``
    names the labels whose maps were left out (recorded, not clustered)."""
    excluded = list(excluded or [])
    if not labels:
        return Clustering([], np.zeros((0, 0)), None, float("nan"), excluded)
    distances = 1.0 - correlation_matrix(maps)
    np.fill_diagonal(distances, 0.0)
    if len(labels) < 2:
        return Clustering(labels, distances, None, float("nan"), excluded)
    condensed = squareform(distances, checks=False)
    tree = linkage(condensed, method="average")
    cophenetic = float(cophenet(tree, condensed)[0]) if len(labels) >= 3 and np.ptp(condensed) > 0 else float("nan")
    return Clustering(labels, distances, tree, cophenetic, excluded)
