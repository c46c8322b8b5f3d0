"""The real console script in a child process: exit codes as the shell sees them, stdout purity,
no progress or ANSI codes off a terminal, Ctrl-C, ``kill -9`` while streaming and while writing
the store, and a broken pipe."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from cli_support import (
    ANSI,
    BINARY_SPEC,
    BROKEN_SPEC,
    SCOREBOARD,
    Invoke,
    binary_table,
    child_env,
    interrupt,
    run_console,
    run_python,
    sqlite_integrity,
    wait_until_open,
    with_value,
    write_parquet,
)

History = Callable[..., list[dict[str, Any]]]

SLOW_ROWS = 200_000  # with --chunk-rows 1 this streams for several seconds


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Specs and data shared by the module: a small good file, a bad one, a slow one."""
    root = tmp_path_factory.mktemp("process")
    rng = np.random.default_rng(9)
    slow = pa.table(
        {
            "is_fraud": rng.integers(0, 2, SLOW_ROWS).astype(np.int8),
            "fraud_score": rng.random(SLOW_ROWS),
        }
    )
    spec = root / "binary.yaml"
    spec.write_text(BINARY_SPEC, encoding="utf-8")
    broken = root / "broken.yaml"
    broken.write_text(BROKEN_SPEC, encoding="utf-8")
    return {
        "spec": spec,
        "broken": broken,
        "good": write_parquet(root / "good.parquet", binary_table()),
        "bad": write_parquet(root / "bad.parquet", with_value(binary_table(), "is_fraud", 3, 9)),
        "slow": write_parquet(root / "slow.parquet", slow),
    }


# --- exit codes and pipes, as a shell sees them ------------------------------------------------


def test_exit_codes_seen_by_the_shell(files: dict[str, Path], tmp_path: Path) -> None:
    script = """
        "$SB" validate "$SPEC";                        echo "validate-good=$?"
        "$SB" validate "$BROKEN" 2>/dev/null;          echo "validate-bad=$?"
        "$SB" evaluate "$SPEC" "$BAD" 2>/dev/null;     echo "evaluate-bad-data=$?"
        "$SB" evaluate "$SPEC" 2>/dev/null;            echo "usage=$?"
        set -o pipefail
        "$SB" evaluate "$SPEC" "$GOOD" --format json --no-store \\
            | "$PY" -c 'import json, sys; print("rows", json.load(sys.stdin)["rows"])'
        echo "pipeline=$?"
    """
    env = child_env(
        SB=str(SCOREBOARD),
        PY=sys.executable,
        SPEC=str(files["spec"]),
        BROKEN=str(files["broken"]),
        BAD=str(files["bad"]),
        GOOD=str(files["good"]),
    )
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = done.stdout.splitlines()
    codes = dict(line.split("=") for line in lines if "=" in line)
    assert codes == {
        "validate-good": "0",
        "validate-bad": "2",
        "evaluate-bad-data": "2",
        "usage": "2",
        "pipeline": "0",
    }, done
    assert "rows 400" in lines
    assert done.stderr == ""
    assert not (tmp_path / "scoreboard.db").exists()


@pytest.mark.parametrize(
    "env",
    [{}, {"NO_COLOR": "1"}, {"TERM": "dumb"}, {"CI": "true"}],
    ids=["piped", "NO_COLOR", "TERM=dumb", "CI"],
)
def test_json_stdout_is_pure_and_stderr_silent(
    files: dict[str, Path], tmp_path: Path, env: dict[str, str]
) -> None:
    done = run_console(
        ["evaluate", files["spec"], files["good"], "--format", "json", "--store", "m.db"],
        cwd=tmp_path,
        env=child_env(**env),
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["rows"] == 400
    assert done.stderr == ""  # no progress bar, no log line, no ANSI code
    assert (tmp_path / "m.db").is_file()


def test_table_on_a_pipe_has_no_ansi_codes(files: dict[str, Path], tmp_path: Path) -> None:
    done = run_console(["evaluate", files["spec"], files["good"], "--no-store"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout
    assert not ANSI.search(done.stdout)
    assert done.stderr == ""


def test_errors_have_no_ansi_codes_or_traceback(files: dict[str, Path], tmp_path: Path) -> None:
    done = run_console(["evaluate", files["spec"], files["bad"], "--no-store"], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"scoreboard: error: {files['bad']}, row 3, column 'is_fraud'")
    assert not ANSI.search(done.stderr)
    assert "Traceback" not in done.stderr


# --- progress on a terminal ---------------------------------------------------------------------


class OnTerminal:
    """The console script with stderr on a pseudo-terminal (as for a person at a terminal) and
    stdout on a pipe; ``read`` collects both."""

    def __init__(self, args: list[str | Path], env: dict[str, str], cwd: Path) -> None:
        master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [str(SCOREBOARD), *map(str, args)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        assert self.process.stdout is not None
        self._terminal, self._stdout = master, self.process.stdout.fileno()
        self._buffers = {master: b"", self._stdout: b""}
        self._open = set(self._buffers)

    @property
    def out(self) -> str:
        return self._buffers[self._stdout].decode()

    @property
    def err(self) -> str:
        return self._buffers[self._terminal].decode(errors="replace")

    def read(self, until: Callable[[], bool] | None = None, timeout: float = 60) -> None:
        """Reads until ``until()`` holds, or (without it) until both streams end."""
        deadline = time.monotonic() + timeout
        while self._open and not (until is not None and until()):
            assert time.monotonic() < deadline, f"timed out; stderr so far: {self.err!r}"
            ready, _, _ = select.select(list(self._open), [], [], 0.5)
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the terminal's last writer closed it
                    chunk = b""
                if chunk:
                    self._buffers[fd] += chunk
                else:
                    self._open.discard(fd)
        assert until is None or until(), f"the process ended first; stderr: {self.err!r}"

    def finish(self) -> int:
        self.read()
        code = self.process.wait(timeout=30)
        os.close(self._terminal)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code


@pytest.mark.parametrize(
    ("env", "flags", "shown"),
    [
        ({}, [], True),
        ({"TERM": "dumb"}, [], False),
        ({"CI": "true"}, [], False),
        ({}, ["--no-progress"], False),
    ],
    ids=["terminal", "TERM=dumb", "CI", "--no-progress"],
)
def test_progress_only_for_a_person_at_a_terminal(
    files: dict[str, Path], tmp_path: Path, env: dict[str, str], flags: list[str], shown: bool
) -> None:
    run = OnTerminal(
        ["evaluate", files["spec"], files["good"], "--no-store", "--format", "json", *flags],
        child_env(**env),
        tmp_path,
    )
    assert run.finish() == 0, run.err
    assert json.loads(run.out)["rows"] == 400  # stdout stays pure JSON with a bar on stderr
    if shown:
        assert "evaluating fraud-detector" in run.err
    else:
        assert run.err == ""


# --- signals ------------------------------------------------------------------------------------


def start_slow_evaluation(
    files: dict[str, Path], cwd: Path, *extra: str
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            str(SCOREBOARD),
            "evaluate",
            str(files["spec"]),
            str(files["slow"]),
            "--chunk-rows",
            "1",
            "--format",
            "json",
            *extra,
        ],
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_until_open(process, files["slow"])
    time.sleep(0.2)  # well into the stream
    return process


@pytest.fixture
def seeded_store(invoke: Invoke, files: dict[str, Path], store: Path) -> Path:
    result = invoke("evaluate", files["spec"], files["good"], "--store", store)
    assert result.code == 0, result
    return store


PROGRESS = re.compile(r"evaluating fraud-detector ([1-9][\d,]*) rows")


def test_ctrl_c_exits_130_quickly_without_traceback(
    files: dict[str, Path], tmp_path: Path, seeded_store: Path, history: History
) -> None:
    """Ctrl-C once the progress bar counts rows (so the first chunks went through the core)."""
    before = history(seeded_store)
    args = ["evaluate", files["spec"], files["slow"], "--chunk-rows", "1", "--format", "json"]
    run = OnTerminal([*args, "--store", seeded_store], child_env(), tmp_path)
    run.read(until=lambda: PROGRESS.search(run.err) is not None)
    sent = time.monotonic()
    run.process.send_signal(signal.SIGINT)
    code = run.finish()
    assert code == 130, run.err
    assert time.monotonic() - sent < 5
    assert run.out == ""
    assert "scoreboard: interrupted" in run.err
    assert "Traceback" not in run.err
    assert history(seeded_store) == before


# Runs the CLI and delivers SIGINT at the moment pyarrow lazily imports pandas (the first
# Array.to_numpy of the run, in scoreboard/engine.py _arrow_array): a Ctrl-C pressed early.
INTERRUPT_DURING_PANDAS_IMPORT = """
import os, signal, sys

class InterruptPandasImport:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            sys.meta_path.remove(self)
            os.write(2, b"test: SIGINT while importing pandas\\n")
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, InterruptPandasImport())
from scoreboard.cli import main
main(sys.argv[1:])
"""


def test_streaming_never_imports_pandas_where_a_ctrl_c_would_be_lost(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """pyarrow swallows every exception of a lazy pandas import (a Ctrl-C included), so the
    engine must not trigger one: the hook that interrupts such an import never fires."""
    args = ["evaluate", files["spec"], files["good"], "--no-store", "--format", "json"]
    done = run_python(INTERRUPT_DURING_PANDAS_IMPORT, args, cwd=tmp_path)
    assert "test: SIGINT while importing pandas" not in done.stderr
    assert done.returncode == 0, done.stderr


def test_kill_9_while_streaming_leaves_the_store_as_it_was(
    invoke: Invoke,
    files: dict[str, Path],
    tmp_path: Path,
    seeded_store: Path,
    history: History,
) -> None:
    before = history(seeded_store)
    process = start_slow_evaluation(
        files, tmp_path, "--store", str(seeded_store), "--model-version", "v2"
    )
    interrupt(process, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    assert history(seeded_store) == before
    assert sqlite_integrity(seeded_store) == "ok"

    result = invoke(
        "evaluate", files["spec"], files["slow"], "--store", seeded_store, "--model-version", "v2"
    )
    assert result.code == 0, result
    assert len(history(seeded_store, "--model-version", "v2")) == 16
    assert history(seeded_store, "--model-version", "unversioned") == before


# Runs the CLI, but SIGKILLs the process inside the store transaction, after the points are
# inserted and before COMMIT; a one-page cache pushes the uncommitted pages into the WAL file.
KILL_DURING_WRITE = """
import os, signal, sys
from scoreboard.store import sqlite

original = sqlite.SQLiteStore._insert_points

def insert_then_die(self, conn, rows):
    conn.execute("PRAGMA cache_size = 1")
    original(self, conn, rows)
    os.kill(os.getpid(), signal.SIGKILL)

sqlite.SQLiteStore._insert_points = insert_then_die
from scoreboard.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("version", ["unversioned", "v2"], ids=["replacing-a-run", "new-run"])
def test_kill_9_during_the_store_write_leaves_the_store_as_it_was(
    invoke: Invoke,
    files: dict[str, Path],
    tmp_path: Path,
    seeded_store: Path,
    history: History,
    version: str,
) -> None:
    before = history(seeded_store)
    args = ["evaluate", files["spec"], files["good"], "--store", seeded_store]
    done = run_python(KILL_DURING_WRITE, [*args, "--model-version", version], cwd=tmp_path)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert history(seeded_store) == before
    assert sqlite_integrity(seeded_store) == "ok"

    result = invoke(*args, "--model-version", version)
    assert result.code == 0, result
    after = history(seeded_store)
    assert len(after) == len(before) + (16 if version == "v2" else 0)
    assert sqlite_integrity(seeded_store) == "ok"


# --- internal errors in a real process ------------------------------------------------------------

FAIL_INSIDE = """
import sys
from scoreboard import _core, engine

def fail(*args, **kwargs):
    if sys.argv[1] == "panic":
        _core._panic_for_tests()
    raise RuntimeError("boom")

engine.stream = fail
from scoreboard.cli import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("fault", ["RuntimeError", "panic"])
def test_internal_error_exits_3_without_traceback(
    files: dict[str, Path], tmp_path: Path, fault: str
) -> None:
    args = [fault, "evaluate", files["spec"], files["good"], "--no-store", "--format", "json"]
    done = run_python(FAIL_INSIDE, args, cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    assert "internal error" in done.stderr
    assert "Traceback" not in done.stderr


# --- a reader that goes away (`scoreboard ... | head`) --------------------------------------------


@pytest.fixture(scope="module")
def broken_pipe() -> tuple[int, str]:
    """``scoreboard schema`` (a few KiB of output) with the reading end of stdout closed."""
    read, write = os.pipe()
    os.close(read)
    try:
        process = subprocess.Popen(
            [str(SCOREBOARD), "schema"],
            env=child_env(),
            stdout=write,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write)
    _, err = process.communicate(timeout=60)
    return process.returncode, err.decode()


def test_broken_pipe_is_quiet(broken_pipe: tuple[int, str]) -> None:
    _, err = broken_pipe
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err


def test_broken_pipe_exits_0(broken_pipe: tuple[int, str]) -> None:
    code, _ = broken_pipe
    assert code == 0
