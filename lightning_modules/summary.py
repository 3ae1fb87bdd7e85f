"""The short summary a training run prints at its end."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_summary(title: str, results: dict[str, float], places: dict[str, str], seconds: float) -> Table:
    """Print (and return) a table of the run's metrics, where its outputs went and its duration."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in sorted(results):
        table.add_row(name, f"{results[name]:.4f}")
    table.add_row("time", f"{seconds / 60:.1f} min")
    console = Console()
    console.print(table)
    for what, where in places.items():
        console.print(f"[bold]{what}[/bold]: {where}")
    return table
