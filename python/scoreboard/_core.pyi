"""Type stubs for the Rust extension ``scoreboard._core`` (checked by ``mypy.stubtest``)."""

from typing import Any, Final, TypeAlias, final

import numpy as np
import numpy.typing as npt

__all__ = ["PLAN_FORMAT_VERSION", "STATE_VERSION", "Executor", "encode_text", "extent"]

STATE_VERSION: Final[int]
PLAN_FORMAT_VERSION: Final[int]

# A numeric column, or a dictionary-encoded string column as (dictionary, int32 indices).
_Column: TypeAlias = npt.NDArray[Any] | tuple[list[str], npt.NDArray[np.int32]]
# A cell key component: its int64 values, ("panes", int64 stamps, unit_ns, origin_ns, width_ns,
# column), ("codes", int32 dictionary indices, int64 code per entry) or ("constant", the key
# of every row).
_Key: TypeAlias = npt.NDArray[np.int64] | tuple[Any, ...]

@final
class Executor:
    """Accumulator state of one compiled plan (thread-safe)."""

    def __new__(cls, plan_json: str) -> Executor: ...
    def update(self, columns: dict[str, _Column], keys: list[_Key] | None = None) -> None:
        """Folds one chunk in; ``keys`` (one entry per key component: values, raw timestamps
        and a pane width, dictionary indices and codes, or one value for every row) name each
        row's cell. The GIL is released while the kernels run. All or nothing."""

    def collapse(self, component: int, values: list[int], to: int) -> None:
        """Sets key component ``component`` to ``to`` in every cell whose value there is in
        ``values``, merging cells whose keys become equal (cell ids are renumbered)."""

    def merge(self, other: Executor, key_maps: list[list[int]] | None = None) -> None:
        """Folds another state of the same plan into this one; ``key_maps[k]`` (when not
        empty) translates the other state's key component ``k``."""

    def cell_keys(self) -> list[list[int]]:
        """The key of every cell, by cell id."""

    def cell_rows(self) -> list[int]:
        """Rows folded into each cell, by cell id."""

    def results_for(self, cells: list[int]) -> list[dict[str, Any]]:
        """Finalized metrics over the union of ``cells``."""

    def subset(self, cells: list[int]) -> Executor:
        """A new state holding only the merge of ``cells``."""

    def results(self) -> list[dict[str, Any]]:
        """``{name, class, value, n, reason, error_bound, ci_low, ci_high}`` for every metric (and
        class, if per-class)."""

    def to_bytes(self) -> bytes:
        """The state as versioned bytes (carries the plan hash)."""

    @staticmethod
    def from_bytes(plan_json: str, data: bytes) -> Executor:
        """A state read back from ``to_bytes`` for the plan given as JSON."""

    def copy(self) -> Executor:
        """An independent copy of this state."""

    @property
    def rows(self) -> int:
        """Rows folded in so far."""

    @property
    def plan_hash(self) -> str:
        """The plan hash this state belongs to."""

def _panic_for_tests() -> None: ...
def encode_text(
    data: npt.NDArray[np.uint32], width: int
) -> tuple[npt.NDArray[np.int32], list[str]]:
    """Dictionary encoding of fixed-width text (a numpy ``U`` array viewed as uint32 code
    units, ``width`` per row): each row's index in first-seen order, and the distinct values."""

def extent(values: npt.NDArray[np.int64]) -> tuple[int, int]:
    """(minimum, maximum) of a non-empty int64 array, in one pass."""
