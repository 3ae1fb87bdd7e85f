import numpy as np

from ferlens.formats.template_figure import SALIENCY_LABEL, heatmap_figure

CLASSES = ["Anger", "Disgust", "Fear"]


def test_overview_has_counts_a_labelled_colorbar_and_marks_empty_classes():
    heatmaps = np.random.default_rng(0).random((3, 275, 224)).astype(np.float32)
    heatmaps[1] = 0.0
    figure = heatmap_figure(heatmaps, CLASSES, [5, 0, 12], "weinet gradcam")
    *panels, bar = figure.axes
    assert [axis.get_title() for axis in panels] == ["Anger\n(n=5)", "Disgust\n(n=0)", "Fear\n(n=12)"]
    assert bar.get_label() == "<colorbar>" and bar.get_xlabel() == SALIENCY_LABEL
    assert [tick.get_text() for tick in bar.get_xticklabels()] == ["0", "64", "128", "192", "255"]
    empty = panels[1]
    assert [text.get_text() for text in empty.texts] == ["(empty)"] and not empty.images  # no map, not a zero map
    assert all(len(axis.images) == 1 and not axis.texts for axis in (panels[0], panels[2]))
    assert figure.get_suptitle() == "weinet gradcam"
