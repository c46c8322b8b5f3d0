"""scoreboard: metrics-as-code for machine-learning models.

>>> import scoreboard as sb
>>> spec = sb.load_spec("spec.yaml")          # doctest: +SKIP
>>> plan = sb.compile(spec)                   # doctest: +SKIP
>>> results = plan.evaluate("preds/*.parquet")  # doctest: +SKIP
"""

from __future__ import annotations

import logging

from scoreboard.engine import Accumulator, evaluate
from scoreboard.exceptions import (
    DataError,
    IncompatibleStateError,
    PlanError,
    Problem,
    ScoreboardError,
    ScoreboardInternalError,
    SpecError,
    StorageError,
)
from scoreboard.plan import Plan
from scoreboard.plan import compile_spec as compile
from scoreboard.results import MetricResult, Results
from scoreboard.spec import Spec, load_spec

# A library never configures logging; the CLI does.
logging.getLogger("scoreboard").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "Accumulator",
    "DataError",
    "IncompatibleStateError",
    "MetricResult",
    "Plan",
    "PlanError",
    "Problem",
    "Results",
    "ScoreboardError",
    "ScoreboardInternalError",
    "Spec",
    "SpecError",
    "StorageError",
    "__version__",
    "compile",
    "evaluate",
    "load_spec",
]
