"""How good is a saliency map, grouped by what is measured (as Quantus groups its metrics):
``localisation`` (a map against face-region masks), ``faithfulness`` (does removing what a map
ranks first change the prediction), ``randomisation`` (does the map change when the network's
weights do), region importance by intervention (``region_importance``). Each group holds its metric and, where the metric accumulates over a data
set, its torchmetrics accumulator. The explainers themselves are in ``saliency``."""
