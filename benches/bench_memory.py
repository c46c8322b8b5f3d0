"""Peak memory of an evaluation: it must not grow with the input.

A child process evaluates a Parquet file (binary, 1M-row groups) of 1M, 10M and, when
SCOREBOARD_BENCH_ROWS >= 20M, 100M rows, through the Python API (``plan.evaluate``) or the CLI
(``scoreboard evaluate --no-store --format json``), and prints its own peak RSS (VmHWM) on exit.
The largest evaluation is the timed one (one round, interpreter start-up included); the peaks go
into ``extra_info``. The peak at the largest size must be within 100 MB of the peak at 1M.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchlib import (
    BINARY_METRICS,
    ROWS,
    human_rows,
    run,
    spec_yaml,
    write_binary_parquet_streaming,
)

GROUP = "memory: peak RSS of evaluate"
MAX_GROWTH_MB = 100.0
SIZES = [1_000_000, 10_000_000] + ([100_000_000] if ROWS >= 20_000_000 else [])

# Runs in the child: `python -c CHILD MODE SPEC DATA`. MODE "imports" only imports scoreboard
# (the fixed cost); the peak goes to stderr at exit, after the CLI's sys.exit too.
CHILD = """
import atexit, json, sys

def peak_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1

atexit.register(lambda: print(f"VMHWM_KB={peak_kb()}", file=sys.stderr, flush=True))
mode, spec, data = sys.argv[1:4]
if mode == "imports":
    import scoreboard, scoreboard.cli
    print(json.dumps({"rows": 0}))
elif mode == "api":
    import scoreboard as sb
    results = sb.compile(sb.load_spec(spec)).evaluate(data)
    print(json.dumps({"rows": results.rows}))
else:
    from scoreboard.cli import main
    sys.argv = ["scoreboard", "evaluate", spec, data, "--no-store", "--format", "json",
                "--no-progress"]
    main()
"""
PEAK = re.compile(r"^VMHWM_KB=(\d+)$", re.MULTILINE)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


class Files:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.spec = folder / "spec.yaml"
        self.data = {rows: folder / f"binary-{human_rows(rows)}.parquet" for rows in SIZES}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Files]:
    """The spec and one Parquet file per size, written a row group at a time; deleted after."""
    found = Files(tmp_path_factory.mktemp("memory"))
    columns = {"y_true": "label", "y_score": "score"}
    found.spec.write_text(spec_yaml("binary", BINARY_METRICS, columns), encoding="utf-8")
    for rows, path in found.data.items():
        write_binary_parquet_streaming(path, rows)
    yield found
    shutil.rmtree(found.folder, ignore_errors=True)


def child(mode: str, spec: Path, data: Path | str, cwd: Path) -> tuple[int, float]:
    """Runs one evaluation in a fresh interpreter; returns (rows counted, peak RSS in MB)."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(spec), str(data)],
        capture_output=True,
        text=True,
        cwd=cwd,  # a stray store file would land here, not in the repository
        check=False,
    )
    found = PEAK.search(proc.stderr)
    if proc.returncode != 0 or found is None:
        pytest.fail(f"{mode} evaluation of {data} failed ({proc.returncode}):\n{proc.stderr}")
    return int(json.loads(proc.stdout)["rows"]), int(found.group(1)) / 1024


@pytest.mark.parametrize("mode", ["api", "cli"])
def test_peak_rss(benchmark: Any, mode: str, files: Files) -> None:
    _, imports = child("imports", files.spec, "-", files.folder)
    peaks: dict[int, float] = {}
    for rows in SIZES[:-1]:
        counted, peaks[rows] = child(mode, files.spec, files.data[rows], files.folder)
        assert counted == rows
    largest = SIZES[-1]
    counted, peaks[largest] = run(
        benchmark,
        lambda: child(mode, files.spec, files.data[largest], files.folder),
        group=GROUP,
        impl=f"scoreboard {mode}",
        rows=largest,
        rounds=1,
    )
    assert counted == largest
    benchmark.extra_info["imports_peak_mb"] = round(imports, 1)
    benchmark.extra_info["peak_mb"] = {human_rows(r): round(mb, 1) for r, mb in peaks.items()}
    growth = peaks[largest] - peaks[SIZES[0]]
    assert growth <= MAX_GROWTH_MB, (
        f"peak RSS grew by {growth:.0f} MB from {human_rows(SIZES[0])} to "
        f"{human_rows(largest)} rows: {benchmark.extra_info['peak_mb']}"
    )
