import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer

from ferlens.analysis.clustering import Clustering
from ferlens.analysis.report.figures import distance_matrices, heatmap_grid, score_bars
from ferlens.formats.template_figure import SALIENCY_LABEL

GRAY = np.full((275, 224), 128, np.uint8)


def _colorbar_label(figure) -> str:
    (bar,) = [axis for axis in figure.axes if axis.get_label() == "<colorbar>"]
    return bar.get_xlabel()


def test_heatmap_grid_titles_counts_marks_empty_classes_and_has_a_colorbar():
    figure = heatmap_grid({"weinet": [None, GRAY], "songnet": [GRAY, GRAY]}, ["Anger", "Disgust"], {"weinet": [0, 34], "songnet": [3, 4]})
    (empty, drawn, *others), label = figure.axes[:4], _colorbar_label(figure)
    assert [axis.get_title() for axis in (empty, drawn, *others)] == ["Anger\n(n=0)", "Disgust\n(n=34)", "Anger\n(n=3)", "Disgust\n(n=4)"]
    assert [text.get_text() for text in empty.texts] == ["(empty)"] and not empty.images
    assert not drawn.texts and len(drawn.images) == 1
    assert empty.get_ylabel() == "weinet" and others[0].get_ylabel() == "songnet"
    assert label == f"{SALIENCY_LABEL}\nn = images averaged into the map; (empty) = no image: no map"


def test_heatmap_grid_says_which_sources_give_no_counts():
    figure = heatmap_grid({"weinet": [GRAY], "AlexNet": [GRAY]}, ["Fear"], {"weinet": [7], "AlexNet": None}, min_count=5)
    assert [axis.get_title() for axis in figure.axes[:2]] == ["Fear\n(n=7)", "Fear"]
    assert _colorbar_label(figure).endswith("(not given by the source for AlexNet); (empty) = fewer than 5 images: no map")
    unknown = heatmap_grid({"AlexNet": [GRAY]}, ["Fear"], {"AlexNet": None})
    assert "n (images per map) not given by the source;" in _colorbar_label(unknown)


def _bars(axis) -> BarContainer:
    (bars,) = [container for container in axis.containers if isinstance(container, BarContainer)]
    return bars


def _scores(folds: list[int]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        (network, fold, "gradcam", expression, "ekman", "iou", np.nan if (network, expression) == ("songnet", "Fear") else rng.uniform(0.05, scale))
        for network, scale in (("weinet", 0.3), ("songnet", 0.9))
        for fold in folds
        for expression in ("Anger", "Fear", "Happiness")
    ]
    return pd.DataFrame(rows, columns=["network", "fold", "method", "expression", "mask_family", "metric", "value"])


def test_score_bars_share_one_x_range_and_explain_the_whiskers():
    figure = score_bars(_scores([1, 2, 3]), "iou", "gradcam: IoU")
    panels = figure.axes
    assert [axis.get_title() for axis in panels] == ["Anger", "Fear", "Happiness"]
    assert len({axis.get_xlim() for axis in panels}) == 1 and panels[0].get_xlim()[0] == 0
    assert all(_bars(axis).errorbar is not None for axis in panels)
    assert [text.get_text() for text in panels[1].texts] == [" (empty)"]
    assert figure.get_supxlabel() == "iou  ·  bars: mean over folds (3 per network); whiskers: ±1 SD over folds (ddof = 1)"
    anger = _scores([1, 2, 3]).query("network == 'weinet' and expression == 'Anger'").value
    (whisker,) = [line for line in _bars(panels[0]).errorbar.lines[2]][:1]
    assert np.ptp(whisker.get_segments()[0][:, 0]) / 2 == pytest.approx(anger.std(ddof=1))  # the sample SD, as labelled
    assert [tick.get_text() for tick in panels[0].get_yticklabels()] == ["weinet", "songnet"]
    sizes = [label.get_fontsize() for axis in panels for label in (*axis.get_xticklabels(), *axis.get_yticklabels())]
    assert min(sizes) >= 7 and len(panels[0].get_xticks()) <= 5  # readable, not crowded


def test_score_bars_of_one_score_per_network_have_no_whiskers():
    figure = score_bars(_scores(["pooled"]), "iou", "gradcam: IoU")
    assert all(_bars(axis).errorbar is None for axis in figure.axes)
    assert figure.get_supxlabel() == "iou  ·  bars: one score per network (no whiskers)"


def test_distance_matrices_are_a_legible_grid_with_one_colour_scale():
    """Six 12 x 12 matrices were one 1980 x 352 px strip with 4.5 pt values and no colorbar."""
    rng = np.random.default_rng(0)
    names = [f"Network{k:02d}" for k in range(12)]
    clusterings = {}
    for expression in ("Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"):
        halves = rng.random((12, 12))
        distances = (halves + halves.T) / 2
        np.fill_diagonal(distances, 0)
        clusterings[expression] = Clustering(names, distances, None, 0.8)
    figure = distance_matrices(clusterings)
    width, height = figure.get_size_inches()
    assert width / height < 2  # a grid (two rows of three), not a strip
    matrices = [axis for axis in figure.axes if axis.get_images()]
    assert len(matrices) == 6 and len(figure.axes) == 7  # and one colorbar
    assert {image.get_clim() for axis in matrices for image in axis.get_images()} == {(0, max(c.distances.max() for c in clusterings.values()))}
    values = [text for axis in matrices for text in axis.texts]
    assert len(values) == 6 * 144 and min(text.get_fontsize() for text in values) >= 6
    assert [text.get_text() for text in matrices[0].texts][:2] == ["0.00", f"{clusterings['Anger'].distances[0, 1]:.2f}"]


def test_every_report_figure_can_name_the_explained_split():
    from matplotlib.figure import Figure

    from ferlens.analysis.report.figures import name_split

    titled = Figure()
    titled.suptitle("Dendrograms, average linkage")
    assert name_split(titled, "gradcam · test split")._suptitle.get_text() == "Dendrograms, average linkage · gradcam · test split"
    assert name_split(Figure(), "gradcam · test and val splits")._suptitle.get_text() == "gradcam · test and val splits"


def test_the_forest_plot_sorts_by_the_last_panel_and_draws_only_known_intervals():
    from ferlens.analysis.report.figures import forest_plot

    rows = pd.DataFrame(
        [
            ("Anger", "a", 0.1, 0.0, 0.2), ("Anger", "b", 0.3, np.nan, np.nan),
            ("mean", "a", 0.05, -0.01, 0.11), ("mean", "b", 0.2, 0.1, 0.3),
        ],
        columns=["panel", "label", "value", "low", "high"],
    )  # fmt: skip
    figure = forest_plot(rows, "title", "x")
    anger, mean = figure.axes[:2]
    assert [label.get_text() for label in anger.get_yticklabels()] == ["b", "a"]  # b has the higher mean
    assert [len(collection.get_segments()) for collection in anger.collections] == [1]  # b's Anger interval is unknown: no whisker
    assert [len(collection.get_segments()) for collection in mean.collections] == [2]
    assert any(line.get_xdata()[0] == 0 and line.get_linestyle() == "--" for line in mean.lines)  # the zero line
