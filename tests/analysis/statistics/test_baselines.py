import numpy as np
import pytest

from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.sources.base import Collection
from ferlens.analysis.statistics.baselines import (
    CENTRE_BIAS,
    FACE_PRIOR,
    RANDOM_WEIGHTS,
    UNIFORM_FACE,
    baseline_scores,
    centre_bias_map,
    face_prior,
    face_region,
    random_weight_sets,
)
from ferlens.faces.template import template_points
from ferlens.scoring.scores import Threshold
from ferlens.user_errors import UserError
from tests.analysis.helpers import CLASSES, blob_maps, make_artifact


def test_centre_bias_and_face_region_are_where_the_template_says():
    centre = centre_bias_map(0.25)
    row, column = np.unravel_index(centre.argmax(), centre.shape)
    assert abs(row - 137) <= 1 and abs(column - 111.5) <= 1 and centre.max() == pytest.approx(1.0, abs=1e-3)
    assert centre[137, 111 + 56] == pytest.approx(np.exp(-0.5), rel=0.02)  # one SD = 0.25 x 224 px to the side
    face = face_region()
    x, y = np.round(template_points()[27:68]).astype(int).T  # nose, eyes, mouth
    assert face[y, x].all() and not face[274, 0] and not face[274, 223] and 0.6 < face.mean() < 0.9


def test_face_prior_weights_classes_by_their_images():
    maps = blob_maps(1)
    heatmap_set = HeatmapSet("net", "gradcam", POOLED, CLASSES, maps, [1, 3, 0, 0, 0, 0])
    np.testing.assert_allclose(face_prior(heatmap_set), (maps[0] + 3 * maps[1]) / 4, rtol=1e-6)
    assert face_prior(HeatmapSet("net", "gradcam", POOLED, CLASSES, maps, [0] * 6)) is None


def test_baseline_scores_name_every_baseline_and_match_random_weights_to_their_network(tmp_path):
    trained = HeatmapSet("net", "gradcam", POOLED, CLASSES, blob_maps(2), [5] * 6)
    random = HeatmapSet("net", "gradcam", POOLED, CLASSES, blob_maps(3), [5, 0, 5, 5, 5, 5])
    masks = {"faces": {name: face_region() for name in CLASSES}}
    scores = baseline_scores([trained], masks, Threshold(), 1, 0.25, [random])
    assert set(scores.baseline) == {CENTRE_BIAS, UNIFORM_FACE, FACE_PRIOR, RANDOM_WEIGHTS}
    uniform = scores[(scores.baseline == UNIFORM_FACE) & (scores.metric == "iou")]
    assert np.allclose(uniform.value, 1.0)  # the uniform face is exactly the face
    assert len(scores[(scores.baseline == RANDOM_WEIGHTS) & (scores.metric == "iou")]) == 5  # its empty class is left out
    make_artifact(tmp_path / "random", "other", 1)
    analysis = analyze_collection(Collection(sets=[trained]), masks, Threshold(), progress=False)
    with pytest.raises(UserError, match=r"baseline heatmaps other · gradcam match no analysed network and method \(net · gradcam\)"):
        random_weight_sets([str(tmp_path / "random")], "{model}", analysis)
