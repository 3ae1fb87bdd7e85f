"""How stable are the dendrograms, and do pretrained and from-scratch networks really form two groups?

- Trees under average, complete and Ward linkage of the distance 1 - r between the networks'
  pooled heatmaps (Ward on sqrt(2 (1 - r)), the Euclidean distance between the standardised
  maps divided by sqrt(pixels), the metric Ward's criterion assumes).
- Bootstrap probability (BP, as pvclust's) of every cluster of a tree: the share of bootstrap
  trees that contain exactly that set of networks. Resampled are the images behind each
  network's map (``ImageClusterObserver``, from the per-image evidence) or, for sets without
  evidence (the study's PNGs), blocks of pixels (``block_correlations``: pvclust resamples
  pixels; blocks keep neighbouring pixels together, which are not independent).
- A permutation test of the study's claim: the mean distance between a pretrained and a
  from-scratch network minus the mean distance within the groups, with the pretrained labels
  permuted over the networks (``scipy.stats.permutation_test``; exact when there are few
  enough assignments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from scipy.stats import permutation_test

from ferlens.analysis.statistics.settings import LINKAGES

#: template pixels per resampled block (rows, columns) for the pixel bootstrap
PIXEL_BLOCK = (11, 8)


def linkage_tree(distances: np.ndarray, method: str) -> np.ndarray:
    """scipy linkage matrix [N-1, 4] of distances [N, N] (1 - r) under ``method``."""
    if method not in LINKAGES:
        raise ValueError(f"linkage {method!r}: use one of {LINKAGES}")
    condensed = np.clip(squareform(distances, checks=False), 0, None)
    return linkage(np.sqrt(2 * condensed) if method == "ward" else condensed, method=method)


def tree_clusters(tree: np.ndarray) -> list[frozenset[int]]:
    """The clusters of a tree (leaf indices), one per merge, in merge order, without the root
    (which holds every network)."""
    n = len(tree) + 1
    members: list[frozenset[int]] = [frozenset([i]) for i in range(n)]
    for left, right, _, _ in tree:
        members.append(members[int(left)] | members[int(right)])
    return members[n:-1]


def cluster_bits(cluster: frozenset[int]) -> int:
    """A cluster as a bit mask of its leaves (bit i: leaf i)."""
    return sum(1 << i for i in cluster)


def batched_merges(distances: np.ndarray, method: str) -> np.ndarray:
    """int64 [R, N-1]: for each of R distance matrices [R, N, N] (1 - r), the cluster (a bit
    mask of leaves, ``cluster_bits``) formed at each merge of its ``method`` tree, the last
    being the root. The Lance-Williams updates of scipy's average, complete and Ward linkage
    (Ward on sqrt(2 (1 - r)), as ``linkage_tree``), vectorised over the R matrices, so that
    thousands of bootstrap trees cost a few array operations per merge."""
    if method not in LINKAGES:
        raise ValueError(f"linkage {method!r}: use one of {LINKAGES}")
    resamples, n = distances.shape[:2]
    d = np.clip(distances.astype(np.float64), 0, None)
    d = np.sqrt(2 * d) if method == "ward" else d.copy()
    eye = np.eye(n, dtype=bool)
    d[:, eye] = np.inf
    size = np.ones((resamples, n))
    members = np.broadcast_to(np.left_shift(1, np.arange(n, dtype=np.int64)), (resamples, n)).copy()
    rows = np.arange(resamples)
    merges = np.zeros((resamples, n - 1), np.int64)
    for step in range(n - 1):
        flat = np.argmin(d.reshape(resamples, -1), axis=1)
        first, second = np.minimum(flat // n, flat % n), np.maximum(flat // n, flat % n)
        to_first, to_second, between = d[rows, :, first], d[rows, :, second], d[rows, first, second][:, None]  # [R, N]
        n_first, n_second = size[rows, first][:, None], size[rows, second][:, None]
        if method == "average":
            merged = (n_first * to_first + n_second * to_second) / (n_first + n_second)
        elif method == "complete":
            merged = np.maximum(to_first, to_second)
        else:
            total = size + n_first + n_second
            merged = np.sqrt(np.clip(((size + n_first) * to_first**2 + (size + n_second) * to_second**2 - size * between**2) / total, 0, None))
        merged[rows, first] = np.inf
        d[rows, first, :] = merged
        d[rows, :, first] = merged
        d[rows, second, :] = np.inf
        d[rows, :, second] = np.inf
        size[rows, first] += size[rows, second]
        members[rows, first] |= members[rows, second]
        merges[:, step] = members[rows, first]
    return merges


def correlations(maps: np.ndarray) -> np.ndarray:
    """Pearson r [..., N, N] between N maps [..., N, P] (a constant map: r = 0 with the others)."""
    centred = maps - maps.mean(axis=-1, keepdims=True)
    norms = np.linalg.norm(centred, axis=-1, keepdims=True)
    standard = centred / np.where(norms > 0, norms, 1)
    r = (standard @ np.swapaxes(standard, -1, -2)).astype(np.float64)
    eye = np.eye(maps.shape[-2], dtype=bool)
    return np.clip(np.where(eye, 1.0, r), -1, 1)


def support(replicates: np.ndarray, clusters: list[frozenset[int]], method: str) -> np.ndarray:
    """float [clusters, R]: 1 where replicate r's tree (of correlations [R, N, N]) contains the cluster."""
    merges = batched_merges(1 - replicates, method)  # [R, N-1]
    wanted = np.array([cluster_bits(cluster) for cluster in clusters], np.int64)
    return (merges[None, :, :] == wanted[:, None, None]).any(axis=2).astype(np.float64)


def block_correlations(maps: np.ndarray, resamples: int, rng: np.random.Generator, block: tuple[int, int] = PIXEL_BLOCK) -> np.ndarray:
    """Correlations [R, N, N] of N maps [N, H, W] over ``resamples`` bootstrap samples of
    their pixel blocks (drawn with replacement; an incomplete edge block is its own block)."""
    n, height, width = maps.shape
    rows, columns = -(-height // block[0]), -(-width // block[1])
    block_of = (np.arange(height)[:, None] // block[0]) * columns + np.arange(width)[None, :] // block[1]
    flat = maps.reshape(n, -1).astype(np.float64)
    ids = block_of.ravel()
    blocks = rows * columns
    sums = np.stack([np.bincount(ids, weights=flat[i], minlength=blocks) for i in range(n)], axis=1)  # [blocks, N]
    pixels = np.bincount(ids, minlength=blocks).astype(np.float64)  # [blocks]
    products = np.stack([np.bincount(ids, weights=flat[i] * flat[j], minlength=blocks) for i in range(n) for j in range(n)], axis=1)
    drawn = np.stack([np.bincount(rng.integers(0, blocks, blocks), minlength=blocks) for _ in range(resamples)]).astype(np.float64)  # [R, blocks]
    count = drawn @ pixels  # [R]
    mean = (drawn @ sums) / count[:, None]  # [R, N]
    cross = (drawn @ products).reshape(resamples, n, n) / count[:, None, None] - mean[:, :, None] * mean[:, None, :]
    sd = np.sqrt(np.clip(np.diagonal(cross, axis1=1, axis2=2), 0, None))
    denominator = sd[:, :, None] * sd[:, None, :]
    r = np.where(denominator > 0, cross / np.where(denominator > 0, denominator, 1), 0.0)
    r[:, np.arange(n), np.arange(n)] = 1.0
    return np.clip(r, -1, 1)


@dataclass
class ClusterCase:
    """The clusters whose support one class is asked for: the networks (indices into the
    bootstrap's sets; None when pixels are resampled instead) of class ``cls``, the
    ``distances`` [N, N] (1 - r) of the reference tree, built on the same grid as the
    bootstrap trees, and per linkage its clusters (indices into the networks)."""

    cls: int
    networks: list[int] | None
    clusters: dict[str, list[frozenset[int]]]
    distances: np.ndarray


class ImageClusterObserver:
    """A ``ReplicateStatistic`` observer: for each case, the networks' replicate maps ->
    correlations -> trees -> one 0/1 row per (case, linkage, cluster). ``keys`` names the rows."""

    def __init__(self, cases: list[ClusterCase]) -> None:
        self.cases = cases
        self.keys = [("cluster", case.cls, method, i) for case in cases for method, clusters in case.clusters.items() for i in range(len(clusters))]

    def __call__(self, means: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
        rows = []
        for case in self.cases:
            stacked = np.stack([means[network, case.cls] for network in case.networks], axis=1)  # float32 [batch, N, P]
            replicate = correlations(stacked)
            rows += [support(replicate, clusters, method) for method, clusters in case.clusters.items()]
        return np.concatenate(rows) if rows else np.zeros((0, next(iter(means.values())).shape[0]))


def group_statistic(distances: np.ndarray):
    """The permutation statistic over distance matrices [E, N, N] (E expressions, one network
    order): mean between-group distance minus mean within-group distance, averaged over the
    expressions, for the two groups given as network indices (vectorised over axis -1 batches)."""

    def statistic(first: np.ndarray, second: np.ndarray, axis: int = -1) -> np.ndarray:
        n = distances.shape[-1]
        member = np.zeros((*first.shape[:-1], n))
        np.put_along_axis(member, first, 1.0, axis=-1)  # [..., N]: 1 in the first group
        other = 1 - member
        upper = np.triu(np.ones((n, n)), 1)
        values = []
        for matrix in distances:
            weighted = matrix * upper
            within = np.einsum("...i,ij,...j->...", member, weighted, member) + np.einsum("...i,ij,...j->...", other, weighted, other)
            between = np.einsum("...i,ij,...j->...", member, matrix, other)
            size_a, size_b = member.sum(-1), other.sum(-1)
            pairs_within = size_a * (size_a - 1) / 2 + size_b * (size_b - 1) / 2
            values.append(between / (size_a * size_b) - within / pairs_within)
        return np.mean(values, axis=0)

    return statistic


def group_test(distances: np.ndarray, pretrained: list[bool], permutations: int, rng: np.random.Generator) -> tuple[float, float, float, int, bool]:
    """(mean within-group distance, mean between-group distance, p-value, assignments used,
    exact) for the two groups ``pretrained`` (one bool per network) over distance matrices
    [E, N, N]; one-sided: networks are closer within their group than between groups."""
    groups = np.asarray(pretrained, bool)
    first, second = np.flatnonzero(groups), np.flatnonzero(~groups)
    result = permutation_test(
        (first, second), group_statistic(distances), permutation_type="independent", vectorized=True, n_resamples=permutations, alternative="greater", rng=rng
    )
    n = len(groups)
    upper = np.triu(np.ones((n, n), bool), 1)
    same = (groups[:, None] == groups[None, :]) & upper
    apart = (groups[:, None] != groups[None, :]) & upper
    within = float(np.mean([matrix[same].mean() for matrix in distances]))
    between = float(np.mean([matrix[apart].mean() for matrix in distances]))
    exact = len(result.null_distribution) < permutations
    return within, between, float(result.pvalue), len(result.null_distribution), bool(exact)
