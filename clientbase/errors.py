"""The one exception type the CLI turns into a one-line error and exit code 1."""


class UserError(Exception):
    """Something the user can fix: a bad file, option or database. The message is one line."""
