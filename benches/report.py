"""Summarises a pytest-benchmark JSON file: per group, scoreboard's median time and throughput, and
each anchor's median as a multiple of scoreboard's (above 1x: scoreboard is faster).

    python benches/report.py bench.json

    binary scores, in-memory (20M rows): scoreboard 18 ms (1.1 G rows/s); numpy 7 ms = 0.4x; ...
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SCOREBOARD = "scoreboard"


def seconds(value: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def rate(rows_per_s: float) -> str:
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rows_per_s >= scale:
            return f"{rows_per_s / scale:.3g} {unit} rows/s"
    return f"{rows_per_s:.3g} rows/s"


def ratio(value: float) -> str:
    return f"{value:.0f}x" if value >= 10 else f"{value:.2g}x"


def rows_label(rows: int) -> str:
    for scale, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if rows >= scale:
            return f"{rows / scale:g}{unit}"
    return str(rows)


def impl_of(bench: dict[str, Any]) -> str:
    impl = bench.get("extra_info", {}).get("impl")
    return str(impl) if impl else str(bench["name"])


def median(bench: dict[str, Any]) -> float:
    return float(bench["stats"]["median"])


def timing_line(group: str, benches: list[dict[str, Any]]) -> str:
    rows = int(benches[0].get("extra_info", {}).get("rows", 0))
    head = f"{group} ({rows_label(rows)} rows)" if rows else group
    base = next((b for b in benches if impl_of(b) == SCOREBOARD), None)
    if base is None:
        parts = [f"{impl_of(b)} {seconds(median(b))}" for b in benches]
        return f"{head}: " + "; ".join(parts)
    reference = median(base)
    parts = [
        f"{SCOREBOARD} {seconds(reference)}" + (f" ({rate(rows / reference)})" if rows else "")
    ]
    for bench in benches:
        if bench is not base:
            time = median(bench)
            parts.append(f"{impl_of(bench)} {seconds(time)} = {ratio(time / reference)}")
    # Same-run ratios the benchmark recorded (windowed over plain, and so on).
    info = base.get("extra_info", {})
    parts.extend(
        f"{key.replace('_', ' ')} {value:.2f}x"
        for key, value in info.items()
        if key.endswith("_over_plain")
    )
    return f"{head}: " + "; ".join(parts)


def memory_line(bench: dict[str, Any]) -> str:
    info = bench.get("extra_info", {})
    peaks: dict[str, float] = info.get("peak_mb", {})
    listed = ", ".join(f"{size} {mb:.0f} MB" for size, mb in peaks.items())
    values = list(peaks.values())
    growth = f" (+{values[-1] - values[0]:.0f} MB)" if len(values) > 1 else ""
    rows = int(info.get("rows", 0))
    return (
        f"  {impl_of(bench)}: peak RSS {listed}{growth}; imports alone "
        f"{info.get('imports_peak_mb', float('nan')):.0f} MB; {rows_label(rows)} rows in "
        f"{seconds(median(bench))} with start-up"
    )


def summarise(data: dict[str, Any]) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for bench in data.get("benchmarks", []):
        groups.setdefault(bench.get("group") or bench["name"], []).append(bench)
    lines = []
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {})
    if cpu:
        lines.append(f"machine: {cpu.get('brand_raw', '?')}, {cpu.get('count', '?')} logical cores")
    for group, benches in groups.items():
        if any("peak_mb" in b.get("extra_info", {}) for b in benches):
            lines.append(f"{group}:")
            lines.extend(memory_line(b) for b in benches)
        else:
            lines.append(timing_line(group, benches))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("json", type=Path, help="the file written by --benchmark-json")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"report: cannot read {args.json}: {exc}", file=sys.stderr)
        return 2
    lines = summarise(data)
    if not lines:
        print(f"report: no benchmarks in {args.json}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
