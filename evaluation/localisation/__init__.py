"""Localisation: a global heatmap against face-region masks: the mask families (Ekman, AU
codebook, a folder of PNGs: ``masks``), the localisation metrics with their thresholds
(``scores``), and an artifact's per-class scores (``quick``, what ``train.py``'s end summary
prints)."""
