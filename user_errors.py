"""The one exception type for mistakes a user can fix (bad path, unknown name, empty data),
the one-sentence message for it, and the one exit every entry point takes on it
(``exit_on_user_error``: train, analyze, prepare, known_truth)."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator

from hydra.errors import InstantiationException
from omegaconf.errors import InterpolationToMissingValueError, MissingMandatoryValue

#: Hydra's message for a ``_target_`` that does not import, and the config key it sits under.
_UNLOCATED_TARGET = re.compile(r"Error locating target '(?P<target>[^']+)'")
_FULL_KEY = re.compile(r"full_key: (?P<key>\S+)")
#: OmegaConf's message for a ``???`` value, naming its key.
_MISSING_KEY = re.compile(r"Missing mandatory value: (?P<key>[\w.\[\]]+)")


class UserError(Exception):
    """A user-fixable problem; its message is one sentence that names the fix."""


def user_message(error: BaseException) -> str | None:
    """The one-sentence message of a user mistake (looking through Hydra's instantiation
    errors), or None when the error is not one."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, UserError):
            return str(cause)
        if isinstance(cause, MissingMandatoryValue | InterpolationToMissingValueError):
            named = _MISSING_KEY.search(str(cause))  # through an interpolation: the key that has no value, not the one that refers to it
            key = named["key"] if named else cause.full_key
            return f"The setting '{key}' is required: add {key}=<value> to the command line."
        unlocated = _UNLOCATED_TARGET.search(str(cause)) if isinstance(cause, InstantiationException) else None
        if unlocated:
            under = _FULL_KEY.search(str(cause))
            key = f"{under['key']}._target_" if under else "_target_"
            return (
                f"{key}={unlocated['target']} names nothing importable: check its spelling (a class such as torch.optim.Adam) "
                "and, for your own code, that the folder holding its package is on PYTHONPATH."
            )
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
