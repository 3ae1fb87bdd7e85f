import numpy as np

from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.datamodules.synthetic_truth import change_frequency, truth_regions
from ferlens.faces.au import au_region_mask
from ferlens.faces.template import template_points


def test_change_frequency_is_where_each_class_moves_the_face():
    faces = SyntheticFaces(num_images=70, num_subjects=5, image_size=96, neutral=True, seed=3)
    frequency = change_frequency(faces, np.arange(70), batch_size=16)
    assert frequency.shape == (7, 275, 224) and frequency.min() >= 0 and frequency.max() <= 1
    assert frequency[faces.class_names.index("Neutral")].max() == 0  # no AU, no change
    regions = truth_regions(frequency)
    points = template_points()[:68]
    forehead = np.zeros((275, 224), bool)
    forehead[: int(points[19, 1]) - 12] = True
    for expression, au in (("Happiness", 12), ("Surprise", 2), ("Anger", 4)):
        where = au_region_mask(au, points, 275, 224)
        inside = regions[faces.class_names.index(expression)]
        assert inside.any() and (inside & where).sum() / where.sum() > 0.05, expression
    # Happiness (AU6+12) leaves the forehead alone; Surprise (AU1+2) raises the brows into it
    assert frequency[faces.class_names.index("Happiness")][forehead].mean() < 0.01
    assert frequency[faces.class_names.index("Surprise")][forehead].mean() > 5 * frequency[faces.class_names.index("Happiness")][forehead].mean()
    assert regions[faces.class_names.index("Happiness")].sum() < regions[faces.class_names.index("Fear")].sum()
