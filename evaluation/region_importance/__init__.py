"""Region importance by intervention: each FACS region imputed in turn on the network's own
input, against area-matched controls (``intervention``), and its per-image accumulator (``accumulator``)."""
