import numpy as np
import pytest

from ferlens.analysis.clustering import cluster_maps, correlation_matrix


def _blob(center_y: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[:60:1, :40:1]
    return np.exp(-((y - center_y) ** 2 + (x - 20) ** 2) / 80) + rng.normal(0, 0.05, (60, 40))


def test_two_known_groups_are_separated():
    rng = np.random.default_rng(0)
    maps = np.stack([_blob(15, rng) for _ in range(4)] + [_blob(45, rng) for _ in range(3)])
    labels = [f"top{i}" for i in range(4)] + [f"bottom{i}" for i in range(3)]
    clustering = cluster_maps(labels, maps)
    groups = sorted(clustering.groups(2), key=len)
    assert groups == [["bottom0", "bottom1", "bottom2"], ["top0", "top1", "top2", "top3"]]
    assert 0.9 < clustering.cophenetic <= 1.0
    assert np.allclose(clustering.distances, clustering.distances.T)
    assert np.allclose(np.diag(clustering.distances), 0)


def test_correlation_matrix_equals_numpy_and_handles_constant_maps():
    rng = np.random.default_rng(1)
    maps = rng.random((4, 10, 8))
    assert np.allclose(correlation_matrix(maps), np.corrcoef(maps.reshape(4, -1)))
    maps[2] = 0.5
    r = correlation_matrix(maps)
    assert np.isfinite(r).all() and r[2, 0] == 0 and r[2, 2] == 1


def test_fewer_than_three_maps():
    single = cluster_maps(["a"], np.ones((1, 4, 4)))
    assert single.linkage is None and single.groups() == [["a"]]
    pair = cluster_maps(["a", "b"], np.random.default_rng(2).random((2, 4, 4)))
    assert pair.linkage.shape == (1, 4) and np.isnan(pair.cophenetic)
    assert sorted(map(sorted, pair.groups(2))) == [["a"], ["b"]]
    assert pytest.approx(pair.linkage[0, 2]) == pair.distances[0, 1]
