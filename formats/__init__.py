"""Formats shared by training, explanation and analysis (imports nothing of ferlens but
``faces``): expression names, image decoding, the heatmap artifact and its template figures."""
