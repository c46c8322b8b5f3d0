"""Internal errors and interruptions, in-process: a bug exits 3 with one line (no traceback), a
Rust panic is an ordinary ``Exception``, Ctrl-C exits 130 and rolls back the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import Invoke, binary_table, sqlite_integrity, write_parquet

import scoreboard as sb
from scoreboard import _core
from scoreboard.store import sqlite as sqlite_store


def test_rust_panic_is_an_ordinary_exception() -> None:
    with pytest.raises(Exception) as caught:
        _core._panic_for_tests()
    assert type(caught.value) is sb.ScoreboardInternalError
    assert isinstance(caught.value, sb.ScoreboardError)
    assert caught.value.exit_code == 3
    assert "panic" in str(caught.value)


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("boom")


def _panic(*args: Any, **kwargs: Any) -> Any:
    _core._panic_for_tests()


# verb -> (module, attribute) that the verb calls; patched to fail
PATCH_POINTS: dict[str, tuple[str, str]] = {
    "validate": ("scoreboard.cli.validate", "compile_spec"),
    "compile": ("scoreboard.cli.compile", "compile_spec"),
    "evaluate": ("scoreboard.engine", "stream"),
    "history": ("scoreboard.cli.history", "open_store"),
    "schema": ("scoreboard.cli.schema", "spec_json_schema"),
}


def _argv(verb: str, spec_path: Path, data: Path, store: Path) -> list[str | Path]:
    if verb in ("validate", "compile"):
        return [verb, spec_path]
    if verb == "evaluate":
        return [verb, spec_path, data, "--store", store]
    if verb == "history":
        return [verb, "--store", store]
    return [verb]


@pytest.fixture
def seeded(invoke: Invoke, spec: Callable[[str], Path], tmp_path: Path, store: Path) -> Path:
    """Good data, already evaluated once into ``store`` (so ``history`` opens it)."""
    data = write_parquet(tmp_path / "good.parquet", binary_table())
    assert invoke("evaluate", spec("binary"), data, "--store", store).code == 0
    return data


@pytest.mark.parametrize("fault", [_boom, _panic], ids=["RuntimeError", "rust-panic"])
@pytest.mark.parametrize("verb", list(PATCH_POINTS))
def test_unexpected_exception_exits_3_without_traceback(
    invoke: Invoke,
    spec: Callable[[str], Path],
    seeded: Path,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    verb: str,
    fault: Callable[..., Any],
) -> None:
    module, attribute = PATCH_POINTS[verb]
    monkeypatch.setattr(f"{module}.{attribute}", fault)
    result = invoke(*_argv(verb, spec("binary"), seeded, store))
    assert result.code == 3, result
    assert result.out == ""
    assert "internal error" in result.err
    assert "Traceback" not in result.err
    assert len(result.err.splitlines()) == 1
    if fault is _boom:
        assert "RuntimeError: boom" in result.err
        assert "SCOREBOARD_DEBUG=1" in result.err


def test_scoreboard_debug_shows_the_exception(
    invoke: Invoke,
    spec: Callable[[str], Path],
    seeded: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("scoreboard.engine.stream", _boom)
    monkeypatch.setenv("SCOREBOARD_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        invoke("evaluate", spec("binary"), seeded, "--no-store")


def test_keyboard_interrupt_while_streaming_exits_130(
    invoke: Invoke,
    spec: Callable[[str], Path],
    seeded: Path,
    store: Path,
    history: Callable[..., list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = history(store)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("scoreboard.engine.stream", interrupted)
    result = invoke("evaluate", spec("binary"), seeded, "--store", store, "--model-version", "v2")
    assert result.code == 130, result
    assert "scoreboard: interrupted" in result.err
    assert "Traceback" not in result.err
    assert history(store) == before


@pytest.mark.parametrize("version", ["unversioned", "v2"], ids=["same-run", "new-run"])
def test_keyboard_interrupt_during_the_store_write_rolls_back(
    invoke: Invoke,
    spec: Callable[[str], Path],
    seeded: Path,
    store: Path,
    history: Callable[..., list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    version: str,
) -> None:
    before = history(store)
    original = sqlite_store.SQLiteStore._insert_points

    def insert_then_interrupt(self: Any, conn: Any, rows: Any) -> None:
        original(self, conn, rows)
        raise KeyboardInterrupt

    monkeypatch.setattr(sqlite_store.SQLiteStore, "_insert_points", insert_then_interrupt)
    result = invoke(
        "evaluate", spec("binary"), seeded, "--store", store, "--model-version", version
    )
    assert result.code == 130, result
    assert "interrupted" in result.err
    assert history(store) == before
    assert sqlite_integrity(store) == "ok"

    monkeypatch.undo()
    result = invoke(
        "evaluate", spec("binary"), seeded, "--store", store, "--model-version", version
    )
    assert result.code == 0, result
    assert len(history(store, "--model-version", version)) == 16


def test_internal_error_with_json_format_keeps_stdout_empty(
    invoke: Invoke,
    spec: Callable[[str], Path],
    seeded: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("scoreboard.cli.evaluate.evaluation_payload", _boom)
    result = invoke("evaluate", spec("binary"), seeded, "--no-store", "--format", "json")
    assert result.code == 3, result
    assert result.out == ""
