"""Shared fixtures: plans built from in-memory specs, and a fixed Hypothesis profile."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import scoreboard as sb
from scoreboard.spec import spec_from_mapping
from scoreboard.spec.source import SourceMap

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("expensive", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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


@pytest.fixture
def plan_factory() -> Any:
    return make_plan
