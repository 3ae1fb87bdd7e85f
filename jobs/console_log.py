"""How a run's log lines look on the console (``configs/hydra/job_logging/ferlens.yaml``):
information as the bare message, warnings and errors prefixed by their level; the log file
keeps timestamps and logger names."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

#: The logger whose lines go to the log file only (per-epoch metrics, the end summary).
FILE_ONLY = "ferlens.file"


class ConsoleFormatter(logging.Formatter):
    """``message`` for INFO and below, ``Warning: message`` / ``Error: message`` above."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.capitalize()}: {message}"
        return message


@contextlib.contextmanager
def closed_pipe_is_fine() -> Iterator[None]:
    """Within the block, a reader that stops reading (``train.py --help | head``) ends the
    process quietly: the rest of stdout goes to ``/dev/null`` (so that Python's flush at exit
    raises nothing either) and the exit status is 1, as Python's documentation advises for
    EPIPE (SIGPIPE's convention)."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
