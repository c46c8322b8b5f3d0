"""The alert state machine: a pure step function, after Prometheus' alerting rules.

States: ``inactive`` → ``pending`` → ``firing`` → (resolved) ``inactive``, plus
``insufficient_data``, which neither fires nor resolves: it remembers the state under it
(``held``) and evaluation resumes from there when data returns. Time is counted in evaluations
(window instances), not seconds:

- ``for: N`` — the condition must hold in N consecutive evaluations to fire (0 and 1 fire on the
  first breach); ``pending`` in between.
- ``keep_firing_for: N`` — a firing alert whose condition clears keeps firing for N more
  evaluations, and resolves on the (N+1)th clear one (Prometheus' ``keep_firing_for``).
- hysteresis — an observation may be neither breaching nor ``clear`` (between ``below`` and
  ``resolve_above``): a firing alert then keeps firing, a pending one goes back to inactive.
- ``m_of_n: [m, n]`` — the condition is "at least m of the last n observations breached".

``step`` has no I/O and no clock, so it is table-tested (tests/alerts/test_state_machine.py) and
a backfill replays deterministically.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

StateName = Literal["inactive", "pending", "firing", "insufficient_data"]
STATES: tuple[StateName, ...] = ("inactive", "pending", "firing", "insufficient_data")


@dataclass(frozen=True)
class Timing:
    """The parts of a rule the state machine reads."""

    for_: int = 1
    keep_firing_for: int = 0
    m_of_n: tuple[int, int] | None = None


@dataclass(frozen=True)
class Observation:
    """One evaluation of a rule's condition.

    ``breach`` is None when there is not enough data to say (then the alert holds its state).
    ``clear`` says the value is back past the resolve bound (always ``not breach`` without
    hysteresis). ``keep_last`` repeats the previous observation (``on_undefined: keep_last``).
    ``at`` is an opaque label of the evaluation (the window start), kept in the state.
    """

    breach: bool | None
    clear: bool = True
    keep_last: bool = False
    at: str | None = None


@dataclass(frozen=True)
class AlertState:
    state: StateName = "inactive"
    held: StateName = "inactive"  # the state under insufficient_data
    active_count: int = 0  # consecutive evaluations the condition held
    clear_count: int = 0  # consecutive clear evaluations while firing
    recent: tuple[bool, ...] = ()  # the last n breaches (m_of_n)
    last_breach: bool | None = None
    last_clear: bool = True
    active_since: str | None = None  # when the current pending/firing episode began
    firing_since: str | None = None

    @property
    def effective(self) -> StateName:
        """The state that counts for notifications (insufficient_data shows the held one)."""
        return self.held if self.state == "insufficient_data" else self.state

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["recent"] = list(self.recent)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertState:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["recent"] = tuple(bool(b) for b in fields.get("recent", ()))
        return cls(**fields)


TransitionKind = Literal[
    "pending", "firing", "resolved", "inactive", "insufficient_data", "data_returned"
]


@dataclass(frozen=True)
class Transition:
    from_state: StateName
    to_state: StateName
    kind: TransitionKind

    @property
    def notifies(self) -> bool:
        """Only firing and resolved transitions send notifications."""
        return self.kind in ("firing", "resolved")


def step(
    state: AlertState, observation: Observation, timing: Timing
) -> tuple[AlertState, Transition | None]:
    """The state after ``observation``, and the transition it made (None if it stayed)."""
    breach, clear = observation.breach, observation.clear
    if breach is None and observation.keep_last:
        breach, clear = state.last_breach, state.last_clear
    current = state.effective
    if breach is None:
        new = replace(state, state="insufficient_data", held=current)
        return new, _transition(state, new)

    recent = state.recent
    if timing.m_of_n is not None:
        m, n = timing.m_of_n
        recent = (*recent, breach)[-n:]
        active = sum(recent) >= m
    else:
        active = breach
    base = replace(state, held="inactive", recent=recent, last_breach=breach, last_clear=clear)
    at = observation.at
    if current != "firing":
        if active:
            count = state.active_count + 1 if current == "pending" else 1
            since = state.active_since if current == "pending" else at
            fires = count >= max(timing.for_, 1)
            new = replace(
                base,
                state="firing" if fires else "pending",
                active_count=count,
                clear_count=0,
                active_since=since,
                firing_since=at if fires else None,
            )
        else:
            new = replace(
                base,
                state="inactive",
                active_count=0,
                clear_count=0,
                active_since=None,
                firing_since=None,
            )
    elif active:
        new = replace(base, state="firing", active_count=state.active_count + 1, clear_count=0)
    elif not clear:  # between the firing and the resolve bound: hysteresis holds it
        new = replace(base, state="firing", clear_count=0)
    elif state.clear_count + 1 > timing.keep_firing_for:
        new = replace(
            base,
            state="inactive",
            active_count=0,
            clear_count=0,
            active_since=None,
            firing_since=None,
        )
    else:
        new = replace(base, state="firing", clear_count=state.clear_count + 1)
    return new, _transition(state, new)


def _transition(old: AlertState, new: AlertState) -> Transition | None:
    was, now = old.effective, new.effective
    if was != "firing" and now == "firing":
        return Transition(old.state, new.state, "firing")
    if was == "firing" and now != "firing":
        return Transition(old.state, new.state, "resolved")
    if old.state == new.state:
        return None
    if old.state == "insufficient_data":
        return Transition(old.state, new.state, "data_returned")
    kind: TransitionKind = new.state  # pending, inactive or insufficient_data
    return Transition(old.state, new.state, kind)
