"""Errors a user can fix. The CLI prints them as one paragraph and exits with status 2."""

from __future__ import annotations


class UserError(Exception):
    """Something the user gave us is wrong; the message says what and how to fix it."""

    exit_status = 2


class ConfigError(UserError):
    """A workload, preset or override is invalid.

    ``source`` is the file (or ``--set``) the value came from, ``field`` the dotted path of the
    field, ``allowed`` what would have been accepted.
    """

    def __init__(self, source: str, field: str | None, problem: str, allowed: str | None = None):
        self.source, self.field, self.problem, self.allowed = source, field, problem, allowed
        where = f"{source}: {field}" if field else source
        text = f"{where}: {problem}"
        if allowed:
            text += f" Allowed: {allowed}."
        super().__init__(text)


class TrainingDiverged(UserError):
    """Training produced a non-finite loss."""
