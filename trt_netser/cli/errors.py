"""The one error type the command line reports as a single sentence."""

from __future__ import annotations


class CliError(Exception):
    """A user-facing failure: the message is printed on stderr, the process exits non-zero.

    ``exit_code`` is 2 by default, the code ``diff`` reserves for trouble (0 and 1 mean
    "equal" and "different").
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
