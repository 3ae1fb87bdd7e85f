"""The report: everything that presents an analysis (``directory.write_report`` writes it).

directory.py: reports/<name>/ (scores, tables, clustering, figures, summary.md); sections.py:
report/index.html as a list of sections over ``page.py``'s primitives; findings_text.py: the
findings in words and as a verdict table; figures.py: every figure; statistics_tables.py,
statistics_report.py: the statistics as text, CSV and Markdown; sanity_report.py: the sanity
checks' captions, curves and text; wandb_report.py: the report logged to W&B.
"""
