"""Randomisation: the model-parameter randomisation test (``mprt``), the similarity measures
it uses (``similarity``: Spearman, SSIM), and its per-image accumulator (``accumulator``)."""
