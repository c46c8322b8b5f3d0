"""The alert state machine as a table: observation sequences and the states and transitions they
must give (Prometheus semantics, counted in window instances).

Observations: ``B`` breach, ``.`` no breach (clear), ``h`` no breach but not clear (between the
firing bound and the resolve bound: hysteresis), ``?`` insufficient data, ``k`` keep the last
observation (``on_undefined: keep_last``). States: ``i`` inactive, ``p`` pending, ``F`` firing,
``?`` insufficient_data. Transitions: ``-`` none, else the first letter of the kind (``p``ending,
``F``iring, ``R``esolved, ``i``nactive, ``?`` insufficient_data, ``d``ata_returned).
"""

from __future__ import annotations

import pytest

from scoreboard.alerts.state import AlertState, Observation, Timing, step

OBS = {
    "B": Observation(True, False),
    ".": Observation(False, True),
    "h": Observation(False, False),
    "?": Observation(None),
    "k": Observation(None, keep_last=True),
}
STATE = {"inactive": "i", "pending": "p", "firing": "F", "insufficient_data": "?"}
KIND = {
    "pending": "p",
    "firing": "F",
    "resolved": "R",
    "inactive": "i",
    "insufficient_data": "?",
    "data_returned": "d",
}

# (case, timing, observations, states after each, transitions at each)
CASES = [
    ("for 1 fires at once", Timing(1), "B..", "Fii", "FR-"),
    ("for 0 is the same as 1", Timing(0), "B.", "Fi", "FR"),
    ("for 3 pends twice", Timing(3), "BBBB.", "ppFFi", "p-F-R"),
    ("a gap resets pending", Timing(3), "BB.BBB", "ppippF", "p-ip-F"),
    ("pending never notifies on reset", Timing(2), "B.B.", "pipi", "pipi"),
    ("keep_firing_for 2", Timing(1, 2), "B...", "FFFi", "F--R"),
    ("keep_firing_for resets on a breach", Timing(1, 1), "B.B..", "FFFFi", "F---R"),
    ("hysteresis holds firing", Timing(1), "Bhhh.", "FFFFi", "F---R"),
    ("hysteresis does not keep pending", Timing(2), "Bh", "pi", "pi"),
    ("insufficient data holds firing", Timing(1), "B??B.", "F??Fi", "F?-dR"),
    ("insufficient data holds pending", Timing(2), "B?B", "p?F", "p?F"),
    ("insufficient data then clear resolves", Timing(1), "B?.", "F?i", "F?R"),
    ("insufficient data from the start", Timing(1), "??B", "??F", "?-F"),
    ("insufficient never resolves", Timing(1), "B????", "F????", "F?---"),
    ("keep_last repeats a breach", Timing(2), "Bk", "pF", "pF"),
    ("keep_last repeats a clear", Timing(1), "B.k", "Fii", "FR-"),
    ("keep_last with no history is insufficient", Timing(1), "kB", "?F", "?F"),
    ("m of n: 2 of 3", Timing(1, 0, (2, 3)), "B.B..", "iiFii", "--FR-"),
    ("m of n: 3 of 5 with for 2", Timing(2, 0, (3, 5)), "BB.BB", "iiipF", "---pF"),
    ("flapping is damped by for", Timing(2), "B.B.B.B.", "pipipipi", "pipipipi"),
    ("flapping is damped by keep_firing_for", Timing(1, 1), "B.B.B..", "FFFFFFi", "F-----R"),
]


@pytest.mark.parametrize(
    ("timing", "observations", "states", "transitions"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_table(timing: Timing, observations: str, states: str, transitions: str) -> None:
    state = AlertState()
    got_states, got_kinds = "", ""
    for code in observations:
        state, transition = step(state, OBS[code], timing)
        got_states += STATE[state.state]
        got_kinds += "-" if transition is None else KIND[transition.kind]
    assert (got_states, got_kinds) == (states, transitions)


def test_only_firing_and_resolved_notify() -> None:
    state, t1 = step(AlertState(), OBS["B"], Timing(2))
    state, t2 = step(state, OBS["B"], Timing(2))
    state, t3 = step(state, OBS["."], Timing(2))
    assert t1 is not None and t2 is not None and t3 is not None
    assert [t1.notifies, t2.notifies, t3.notifies] == [False, True, True]


def test_step_is_pure_and_state_round_trips() -> None:
    start = AlertState()
    timing = Timing(1, 0, (1, 2))
    first = step(start, Observation(True, False, at="2026-01-01"), timing)
    again = step(start, Observation(True, False, at="2026-01-01"), timing)
    assert first == again and start == AlertState()
    state = first[0]
    assert state.firing_since == "2026-01-01" and state.active_since == "2026-01-01"
    assert AlertState.from_json(state.to_json()) == state


def test_episode_start_is_the_first_pending_window() -> None:
    timing = Timing(3)
    state = AlertState()
    for day in ("d1", "d2", "d3"):
        state, _ = step(state, Observation(True, False, at=day), timing)
    assert (state.state, state.active_since, state.firing_since) == ("firing", "d1", "d3")
