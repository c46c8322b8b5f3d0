"""Alert rules, their state machine, the outbox and its dispatch (DESIGN step 6).

Kept apart as Prometheus keeps them: ``rules`` and ``state`` evaluate (pure), ``evaluate``
replays a history, ``notifiers`` deliver one notification each, ``dispatch`` drains the outbox
with retries; the evaluation side imports no sender.
"""

from scoreboard.alerts.evaluate import (
    Notification,
    RuleOutcome,
    SeriesPoint,
    evaluate_rules,
    notifications,
)
from scoreboard.alerts.rules import Rule
from scoreboard.alerts.state import AlertState, Observation, Timing, Transition, step

__all__ = [
    "AlertState",
    "Notification",
    "Observation",
    "Rule",
    "RuleOutcome",
    "SeriesPoint",
    "Timing",
    "Transition",
    "evaluate_rules",
    "notifications",
    "step",
]
