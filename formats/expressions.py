"""The expression classes, in the order used everywhere (labels, heatmaps, tables)."""

from __future__ import annotations

#: The six basic expressions of Study 1, alphabetical.
CLASSES_6 = ["Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]
NEUTRAL = "Neutral"
#: The six plus Neutral, for datasets and runs with seven classes.
CLASSES_7 = CLASSES_6 + [NEUTRAL]
