"""Fixtures of the CLI tests: an isolated working directory, specs on disk, and ``invoke``,
which runs ``scoreboard.cli.run(argv)`` in-process and captures its exit code and output."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import SPECS, Invoke, Outcome

from scoreboard import cli


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in its own directory (the default ./scoreboard.db lands there) with no
    store, debug or colour settings inherited from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("SCOREBOARD_STORE", "SCOREBOARD_DEBUG", "NO_COLOR", "CI"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Invoke:
    def run(*args: str | os.PathLike[str]) -> Outcome:
        capsys.readouterr()
        code = cli.run([os.fspath(a) for a in args])
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture
def spec(tmp_path: Path) -> Callable[[str], Path]:
    """``spec("binary")`` writes that spec of ``cli_support.SPECS`` and returns its path."""
    folder = tmp_path / "specs"

    def write(name: str) -> Path:
        folder.mkdir(exist_ok=True)
        path = folder / f"{name}.yaml"
        path.write_text(SPECS[name], encoding="utf-8")
        return path

    return write


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "state" / "metrics.db"


@pytest.fixture(autouse=True)
def _store_dir(store: Path) -> None:
    store.parent.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def history(invoke: Invoke) -> Callable[..., list[dict[str, Any]]]:
    """``history(store, "--metric", "f1")``: the stored points as ``history --format json``."""

    def read(store: Path, *filters: str) -> list[dict[str, Any]]:
        result = invoke("history", "--store", store, "--format", "json", *filters)
        assert result.code == 0, result
        points: list[dict[str, Any]] = json.loads(result.out)
        return points

    return read
