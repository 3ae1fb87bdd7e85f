import numpy as np
import pytest

from ferlens.analysis.heatmap_set import POOLED, HeatmapSet
from ferlens.analysis.pipeline import analyze_collection
from ferlens.analysis.sources.base import Collection
from ferlens.analysis.sources.random_weights import random_weight_sets
from ferlens.analysis.statistics.baselines import (
    CENTRE_BIAS,
    FACE_PRIOR,
    RANDOM_WEIGHTS,
    UNIFORM_FACE,
    baseline_scores,
    centre_bias_map,
    face_prior,
    face_region,
)
from ferlens.evaluation.localisation.scores import Threshold
from ferlens.faces.template import template_points
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


def test_face_prior_leaves_the_class_out_and_weights_the_others_equally():
    maps = blob_maps(1)
    heatmap_set = HeatmapSet("net", "gradcam", POOLED, CLASSES, maps, [1, 300, 5, 0, 0, 0])  # class sizes do not weigh
    np.testing.assert_allclose(face_prior(heatmap_set), (maps[0] + maps[1] + maps[2]) / 3, rtol=1e-6)
    np.testing.assert_allclose(face_prior(heatmap_set, leave_out=1), (maps[0] + maps[2]) / 2, rtol=1e-6)  # Disgust's prior holds no Disgust
    assert face_prior(HeatmapSet("net", "gradcam", POOLED, CLASSES, maps, [1, 0, 0, 0, 0, 0]), leave_out=0) is None
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
    prior = scores[(scores.baseline == FACE_PRIOR) & (scores.metric == "iou")]
    assert len(prior) == 6 and set(prior.expression) == set(CLASSES)  # one leave-one-class-out prior per expression, against its own mask
    make_artifact(tmp_path / "random", "other", 1)
    analysis = analyze_collection(Collection(sets=[trained]), masks, Threshold(), progress=False)
    with pytest.raises(UserError, match=r"baseline heatmaps other · gradcam match no analysed network and method \(net · gradcam\)"):
        random_weight_sets([str(tmp_path / "random")], "{model}", analysis)


def test_random_weights_match_by_network_whatever_the_run_label(tmp_path):
    make_artifact(tmp_path / "trained", "vgg", 1, seed=1)
    make_artifact(tmp_path / "random", "vgg", 1, seed=2)
    from ferlens.analysis.sources import LocalSource
    from ferlens.analysis.sources.base import Filters

    collection = LocalSource(paths=[str(tmp_path / "trained")], label="{model}-trained-{seed}").collect(Filters())
    analysis = analyze_collection(collection, {"faces": {name: face_region() for name in CLASSES}}, Threshold(), progress=False)
    matched = random_weight_sets([str(tmp_path / "random")], "{model}-random", analysis)
    assert [s.network for s in matched] == ["vgg-trained-1"]  # labelled like the network it is the baseline of


def test_a_baseline_explained_for_predicted_classes_with_gaps_is_warned_about(tmp_path, caplog):
    make_artifact(tmp_path / "trained", "vgg", 1, seed=1)
    make_artifact(tmp_path / "random", "vgg", 1, seed=2, counts=[30, 0, 0, 0, 0, 0])  # a random network predicts one class
    from ferlens.analysis.sources import LocalSource
    from ferlens.analysis.sources.base import Filters

    analysis = analyze_collection(
        LocalSource(paths=[str(tmp_path / "trained")]).collect(Filters()), {"faces": {n: face_region() for n in CLASSES}}, Threshold(), progress=False
    )
    with caplog.at_level("WARNING"):
        random_weight_sets([str(tmp_path / "random")], "{model}", analysis)
    assert "callbacks.global_saliency.target=label" in caplog.text
