"""The one exception type for mistakes a user can fix (bad path, unknown name, empty data),
the one-sentence message for it, and the one exit every entry point takes on it
(``exit_on_user_error``: train, analyze, prepare, known_truth)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from omegaconf.errors import MissingMandatoryValue


class UserError(Exception):
    """A user-fixable problem; its message is one sentence that names the fix."""


def user_message(error: BaseException) -> str | None:
    """The one-sentence message of a user mistake (looking through Hydra's instantiation
    errors), or None when the error is not one."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, UserError):
            return str(cause)
        if isinstance(cause, MissingMandatoryValue):
            return f"The setting '{cause.full_key}' is required: add {cause.full_key}=<value> to the command line."
        cause = cause.__cause__ or cause.__context__
    return None


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Within the block, a user mistake (``user_message`` is not None) ends the process with
    ``Error: <its sentence>`` on stderr and exit status 1, no traceback; any other error
    propagates unchanged."""
    try:
        yield
    except Exception as error:
        message = user_message(error)
        if message is None:
            raise
        sys.exit(f"Error: {message}")
