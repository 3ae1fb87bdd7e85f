"""The one exception type for mistakes a user can fix (bad path, unknown name, empty data),
and the one-sentence message the entry scripts print for it."""

from __future__ import annotations

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
