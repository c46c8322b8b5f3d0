"""TensorBoard scalars (tensorboardX): one run directory per model version, ``DIR/MODEL/VERSION``.

Tags are ``metric/window`` (``metric/all`` for values over all rows) plus ``/column_value`` per
segment column (``f1/daily/country_FR``: TensorBoard tags keep letters, digits and ``_-./``). A
window's step is its window index and its wall time the window end; values over all rows are
stepped by run (0, 1, ...) at their recording time. Exporting again replaces the event files
scoreboard wrote there, so nothing is doubled.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from scoreboard.exceptions import ScoreboardError
from scoreboard.store import StoredPoint

EVENT_PREFIX = "events.out.tfevents."
SUFFIX = ".scoreboard"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def tag(p: StoredPoint) -> str:
    parts = [p.metric, p.window or "all"]
    parts.extend(f"{k}_{v}" for k, v in sorted(p.segment.items()))
    return "/".join(_TAG_UNSAFE.sub("_", part) for part in parts)


def run_dir(root: str, model: str, version: str) -> Path:
    return Path(root) / _UNSAFE.sub("_", model) / _UNSAFE.sub("_", version)


def export(root: str, points: Sequence[StoredPoint]) -> int:
    """Writes every point; returns the number of scalars written."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ScoreboardError(
            "export tensorboard needs tensorboardX: pip install 'scoreboard[tensorboard]'"
        ) from None
    if os.path.exists(root) and not os.path.isdir(root):
        raise ScoreboardError(f"{root} is a file; export tensorboard writes into a directory")
    groups: dict[tuple[str, str], list[StoredPoint]] = defaultdict(list)
    for p in points:
        groups[(p.model, p.model_version)].append(p)
    written = 0
    try:
        for (model, version), pts in sorted(groups.items()):
            directory = run_dir(root, model, version)
            directory.mkdir(parents=True, exist_ok=True)
            for old in directory.glob(f"{EVENT_PREFIX}*{SUFFIX}"):
                old.unlink()
            first_seen: dict[str, datetime] = {}
            for p in pts:
                if p.window is None:
                    seen = first_seen.get(p.run_id)
                    first_seen[p.run_id] = (
                        p.recorded_at if seen is None else min(seen, p.recorded_at)
                    )
            order = sorted(first_seen, key=lambda r: (first_seen[r], r))
            runs = {run_id: step for step, run_id in enumerate(order)}
            writer = SummaryWriter(str(directory), filename_suffix=SUFFIX)
            try:
                for p in pts:
                    if p.value is None:
                        continue
                    if p.window is None:
                        step, when = runs[p.run_id], p.recorded_at
                    else:
                        step = p.window_index or 0
                        when = p.window_end or p.window_start or p.recorded_at
                    writer.add_scalar(tag(p), p.value, global_step=step, walltime=when.timestamp())
                    written += 1
            finally:
                writer.close()
    except OSError as exc:
        raise ScoreboardError(
            f"cannot write TensorBoard events under {root}: {exc.strerror}"
        ) from None
    return written
