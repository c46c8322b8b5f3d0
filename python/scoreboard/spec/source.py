"""Where each value of a spec came from, so that any later stage can point at FILE:LINE:COL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from scoreboard.exceptions import Problem

PathPart = str | int
Path = tuple[PathPart, ...]


def format_path(path: Sequence[PathPart]) -> str:
    """``("metrics", 2, "beta")`` -> ``metrics[2].beta``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class SourceMap:
    """1-based (line, column) of every value (and, under ``key_positions``, every mapping key)."""

    file: str
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Sequence[PathPart], *, key: bool = False) -> tuple[int, int]:
        """Position of ``path``, or of its closest known ancestor (the document start at worst)."""
        probe: Path = tuple(path)
        while True:
            if key and probe in self.key_positions:
                return self.key_positions[probe]
            if probe in self.positions:
                return self.positions[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]

    def problem(
        self, path: Sequence[PathPart], message: str, type: str, *, key: bool = False
    ) -> Problem:
        line, col = self.locate(path, key=key)
        return Problem(self.file, line, col, format_path(path), message, type)


EMPTY_SOURCE = SourceMap(file="<spec>")
