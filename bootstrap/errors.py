"""User-facing errors: one line saying what and where, then a hint.

Exit codes follow the project convention: 2 for bad input or usage,
1 for a failed build or compile.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class MlirbootError(Exception):
    """An error meant for the user; `str()` is the one-line message."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "error": self.message,
            "where": self.where,
            "hint": self.hint,
            "exit_code": self.exit_code,
            "kind": type(self).__name__,
        }


class UsageError(MlirbootError):
    """Bad input: config, arguments, program. Exit 2."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A config layer is malformed or inconsistent."""


class BuildError(MlirbootError):
    """A build, compile or run step failed. Exit 1."""

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        details: str = "",
    ):
        super().__init__(message, where=where, hint=hint)
        # Multi-line context (log tail) printed after the one-line summary.
        self.details = details
