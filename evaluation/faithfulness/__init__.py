"""Faithfulness: deletion / insertion curves and ROAD (``curves``), ROAD's noisy linear
imputation (``imputation``), and their per-image accumulator (``accumulator``)."""
