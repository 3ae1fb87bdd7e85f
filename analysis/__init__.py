"""Analysis of global heatmaps: artifact sources, mask families, scoring, clustering, report."""
