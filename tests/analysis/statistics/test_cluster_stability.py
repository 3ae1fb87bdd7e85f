import math

import numpy as np
import pytest

from ferlens.analysis.clustering import correlation_matrix
from ferlens.analysis.statistics.cluster_stability import (
    batched_merges,
    block_correlations,
    cluster_bits,
    correlations,
    group_test,
    linkage_tree,
    support,
    tree_clusters,
)


def _two_groups(noise: float, seed: int = 0) -> np.ndarray:
    """[6, 40, 30] maps: three noisy copies of one pattern, three of an unrelated one."""
    rng = np.random.default_rng(seed)
    a, b = rng.random((40, 30)), rng.random((40, 30))
    return np.stack([a, a, a, b, b, b]) + noise * rng.random((6, 40, 30))


def test_tree_clusters_are_the_merges_below_the_root():
    distances = 1 - correlation_matrix(_two_groups(0.1))
    for method in ("average", "complete", "ward"):
        clusters = tree_clusters(linkage_tree(distances, method))
        assert len(clusters) == 4 and frozenset({0, 1, 2}) in clusters and frozenset({3, 4, 5}) in clusters, method


def test_well_separated_groups_are_supported_and_noise_is_not():
    maps = _two_groups(0.1)
    groups = [frozenset({0, 1, 2}), frozenset({3, 4, 5})]
    replicates = block_correlations(maps, 200, np.random.default_rng(1), block=(4, 3))
    assert support(replicates, groups, "average").mean(axis=1).tolist() == [1.0, 1.0]
    noise = np.random.default_rng(2).random((6, 40, 30))
    clusters = tree_clusters(linkage_tree(1 - correlation_matrix(noise), "average"))
    shares = support(block_correlations(noise, 200, np.random.default_rng(3), block=(4, 3)), clusters, "average").mean(axis=1)
    assert shares.min() < 0.5  # some merge of pure noise reappears in fewer than half of the resamples


def test_one_block_resamples_to_the_full_correlation():
    maps = _two_groups(0.5)
    replicates = block_correlations(maps, 3, np.random.default_rng(0), block=(40, 30))  # the only block, drawn every time
    np.testing.assert_allclose(replicates, np.broadcast_to(correlation_matrix(maps), replicates.shape), atol=1e-10)
    np.testing.assert_allclose(correlations(maps.reshape(6, -1)), correlation_matrix(maps), atol=1e-12)


def test_group_test_is_exact_over_every_split_and_finds_perfect_separation():
    groups = [True] * 4 + [False] * 3
    distances = np.where(np.equal.outer(groups, groups), 0.1, 0.9)
    np.fill_diagonal(distances, 0)
    within, between, p, permutations, exact = group_test(distances[None], groups, 9999, np.random.default_rng(0))
    assert (within, between) == (pytest.approx(0.1), pytest.approx(0.9))
    assert exact and permutations == math.comb(7, 4) and p == pytest.approx(1 / math.comb(7, 4))
    rng = np.random.default_rng(4)
    unrelated = rng.random((7, 7))
    unrelated = (unrelated + unrelated.T) / 2
    np.fill_diagonal(unrelated, 0)
    assert group_test(unrelated[None], groups, 9999, rng)[2] > 0.05


@pytest.mark.parametrize("method", ["average", "complete", "ward"])
def test_batched_trees_have_the_clusters_of_scipys(method):
    rng = np.random.default_rng(7)
    maps = rng.random((40, 9, 50)) + rng.random((1, 9, 50))  # 40 correlation matrices of 9 maps, no exact ties
    replicates = correlations(maps)
    merges = batched_merges(1 - replicates, method)
    for r in range(len(replicates)):
        expected = {cluster_bits(cluster) for cluster in tree_clusters(linkage_tree(1 - replicates[r], method))}
        assert set(merges[r, :-1].tolist()) == expected and merges[r, -1] == 2**9 - 1
