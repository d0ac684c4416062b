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

    def lines(self) -> list[str]:
        """What stderr shows: one complete line per error (one, but for ConfigErrors)."""
        return [self.line()]

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


# At most this many config errors are shown; a last line counts the rest.
MAX_SHOWN = 20


class ConfigErrors(ConfigError):
    """Several independent config errors, found in one pass. `message`, `where`
    and `hint` are the first one's (for callers that handle a single error);
    `lines()` shows each on its own line, up to MAX_SHOWN, then a count."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.message, where=first.where, hint=first.hint)

    def lines(self) -> list[str]:
        shown = [err.line() for err in self.errors[:MAX_SHOWN]]
        rest = len(self.errors) - len(shown)
        if rest:
            shown.append(
                f"... and {rest} more config error{'s' if rest > 1 else ''} "
                "(hint: fix these first; the next run shows the rest)"
            )
        return shown

    def line(self) -> str:
        return "\n".join(self.lines())

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "errors": [err.to_json() for err in self.errors]}


class ErrorCollector:
    """Gathers config errors instead of stopping at the first (duplicates
    dropped), and the key paths whose values were found invalid, so that later
    checks can skip what they would only misreport."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []
        self._seen: set[str] = set()
        self.invalid: set[tuple[str | int, ...]] = set()

    def add(self, err: ConfigError, path: tuple[str | int, ...] | None = None) -> None:
        if path is not None:
            self.invalid.add(path)
        for one in err.errors if isinstance(err, ConfigErrors) else [err]:
            if one.line() not in self._seen:
                self._seen.add(one.line())
                self.errors.append(one)

    def touches(self, *paths: tuple[str | int, ...]) -> bool:
        """Whether a value at, above or below one of `paths` was invalid."""
        return any(
            bad[: len(path)] == path or path[: len(bad)] == bad
            for bad in self.invalid
            for path in paths
        )

    def sort(self, files: list[str]) -> None:
        """Order the errors as a reader fixes them: by file (in the order of
        `files`, then others by name), then line; otherwise as found."""

        def key(item: tuple[int, ConfigError]) -> tuple[int, str, int, int]:
            index, err = item
            where = err.where or ""
            file, _, line = where.rpartition(":")
            if not (file and line.isdigit()):
                file, line = where, "0"
            rank = files.index(file) if file in files else len(files)
            return (rank, file if rank == len(files) else "", int(line), index)

        self.errors = [err for _, err in sorted(enumerate(self.errors), key=key)]

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self, files: list[str] | None = None) -> None:
        """One error raises as itself (one line, as before); several as
        ConfigErrors, sorted by `files` and line when given (see `sort`)."""
        if files is not None:
            self.sort(files)
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ConfigErrors(self.errors)


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
