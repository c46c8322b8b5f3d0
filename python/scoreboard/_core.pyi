"""Type stubs for the Rust extension ``scoreboard._core`` (kept in sync by ``mypy.stubtest``)."""

from typing import Any, Final

import numpy as np
import numpy.typing as npt

STATE_VERSION: Final[int]
PLAN_FORMAT_VERSION: Final[int]

Column = npt.NDArray[Any] | tuple[list[str], npt.NDArray[np.int32]]

class Executor:
    """Accumulator state of one compiled plan (thread-safe)."""

    def __new__(cls, plan_json: str) -> Executor: ...
    def update(self, columns: dict[str, Column]) -> None:
        """Folds one chunk in; the GIL is released while the kernels run. All or nothing."""

    def merge(self, other: Executor) -> None:
        """Folds another state of the same plan into this one."""

    def results(self) -> list[dict[str, Any]]:
        """``{name, class, value, n, reason}`` for every metric (and class, if per-class)."""

    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(plan_json: str, data: bytes) -> Executor: ...
    def copy(self) -> Executor: ...
    @property
    def rows(self) -> int: ...
    @property
    def plan_hash(self) -> str: ...

def _panic_for_tests() -> None: ...
