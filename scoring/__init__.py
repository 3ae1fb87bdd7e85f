"""Scoring a global heatmap against face-region masks: the mask families (Ekman, AU
codebook, a folder of PNGs: ``scoring.masks``), the localisation metrics with their
thresholds (``scoring.scores``), and an artifact's per-class scores (``scoring.quick``, what
``train.py``'s end summary prints). Below ``analysis`` and the training job, which both use it."""
