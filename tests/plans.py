"""Plans built from in-memory specs, for tests."""

from __future__ import annotations

from typing import Any

import scoreboard as sb
from scoreboard.spec import spec_from_mapping
from scoreboard.spec.source import SourceMap


def make_plan(task: str, metrics: list[Any], **fields: Any) -> sb.Plan:
    """A compiled plan for an in-memory spec (columns y / p unless given)."""
    columns = fields.pop("columns", None)
    if columns is None:
        columns = (
            {"y_true": "y", "y_score": "p"} if task == "binary" else {"y_true": "y", "y_pred": "p"}
        )
    doc = {
        "version": 1,
        "model": "m",
        "task": task,
        "columns": columns,
        "metrics": metrics,
        **fields,
    }
    return sb.compile(spec_from_mapping(doc, SourceMap("<test>")))
