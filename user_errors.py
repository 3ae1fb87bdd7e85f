"""The one exception type for mistakes a user can fix (bad path, unknown name, empty data)."""


class UserError(Exception):
    """A user-fixable problem; its message is one sentence that names the fix."""
