"""How a run's log lines look on the console (``configs/hydra/job_logging/ferlens.yaml``):
information as the bare message, warnings and errors prefixed by their level; the log file
keeps timestamps and logger names."""

from __future__ import annotations

import logging

#: The logger whose lines go to the log file only (per-epoch metrics, the end summary).
FILE_ONLY = "ferlens.file"


class ConsoleFormatter(logging.Formatter):
    """``message`` for INFO and below, ``Warning: message`` / ``Error: message`` above."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.capitalize()}: {message}"
        return message
