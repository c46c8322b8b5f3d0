"""One exception tree under :class:`ScoreboardError`.

Every error a user can cause derives from ``ScoreboardError`` and carries the CLI exit code it maps
to. Errors also derive from the stdlib type users would catch anyway (``ValueError``...), as orjson
does. The Rust extension raises these very classes (it imports this module), so there is one tree.
"""

from __future__ import annotations

from dataclasses import dataclass


class ScoreboardError(Exception):
    """Root of every scoreboard error. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 2


@dataclass(frozen=True)
class Problem:
    """One located problem in a spec file.

    ``type`` is a stable snake_case identifier (tests assert on it, never on wording); ``path`` is
    the dotted location inside the document (``metrics[2].beta``).
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    type: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class SpecError(ScoreboardError, ValueError):
    """A spec file (or spec data) is invalid. ``problems`` lists every problem at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PlanError(ScoreboardError, ValueError):
    """A compiled plan could not be built or loaded (bad plan JSON, unsupported version)."""


class DataError(ScoreboardError, ValueError):
    """Input data is unreadable or does not fit the plan.

    ``file``, ``column`` and ``row`` (0-based row within the file) locate the fault when known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.column = column
        self.row = row
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def located(
        self, *, file: str | None = None, row_offset: int = 0, column: str | None = None
    ) -> DataError:
        """The same error with its location completed by the caller that knows more."""
        return DataError(
            self.message,
            file=self.file if self.file is not None else file,
            column=self.column if self.column is not None else column,
            row=None if self.row is None else self.row + row_offset,
        )


class IncompatibleStateError(ScoreboardError, ValueError):
    """Two accumulator states cannot be merged (different plans, versions or label sets)."""


class StorageError(ScoreboardError):
    """The metric store cannot be opened or written. The message says how to fix it."""


class OutputError(ScoreboardError):
    """An output file (``--output``, ``-o``, ``--junit``...) cannot be written."""


class ScoreboardInternalError(ScoreboardError):
    """A bug in scoreboard (including a caught Rust panic). Please report it."""

    exit_code = 3
