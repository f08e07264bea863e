"""The other ways to run the same flow, for `run.py` to compare regflow with.

Every peer does the same business work as regflow's engine — it loads the snapshot from the
same in-memory store, evaluates the same rules and actions of `regflow.machine.TRANSITIONS`
on the same `Step`, saves the new snapshot — and differs only in how it dispatches the event.
Peers build no `FlowView` and log nothing, so the comparison favours them.
(They reach into regflow's private modules on purpose: only a benchmark may.)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import attrs
from regflow._rules import Services, Step
from statemachine import State as ChartState
from statemachine import StateMachine
from transitions import Machine

from regflow import FlowSnapshot, MethodRegistry, Policy, State
from regflow.machine import EVENTS, EXPIRE, INITIAL, TERMINAL, TRANSITIONS

if TYPE_CHECKING:
    from regflow import Event
    from regflow.testing import FakePorts

#: Fires the trigger on a loaded flow's step and returns the state the flow is in after it.
Fire = Callable[[State, str, Step], State]

_TRIGGERS = {event: trigger for trigger, event in EVENTS.items()}
_STATES = [{"name": state, "final": state in TERMINAL} for state in State]


class Peer:
    """One request = load, dispatch with `fire`, save: regflow's contract minus the view."""

    def __init__(self, ports: FakePorts, fire: Fire) -> None:
        self._ports = ports
        self._fire = fire
        self._services = Services(
            bhxh=ports.bhxh,
            sms=ports.sms,
            users=ports.users,
            hasher=ports.hasher,
            clock=ports.clock,
            policy=Policy(),
            otp_secret=ports.otp_secret,
            methods=MethodRegistry(),
        )

    def start(self) -> str:
        now = self._ports.clock.now()
        snapshot = FlowSnapshot(
            flow_id=secrets.token_urlsafe(16),
            version=1,
            state=INITIAL,
            created_at=now,
            expires_at=now + self._services.policy.flow_ttl,
        )
        self._ports.flows.save(snapshot)
        return snapshot.flow_id

    def send(self, flow_id: str, event: Event) -> State:
        snapshot = self._ports.flows.load(flow_id)
        assert snapshot is not None  # noqa: S101 - the benchmark only sends to its own flows
        step = Step(self._services, snapshot, event, self._ports.clock.now())
        state = self._fire(snapshot.state, _TRIGGERS[type(event)], step)
        if state is not snapshot.state:
            step.changes["state"] = state
        if step.changes:
            version = snapshot.version + 1
            self._ports.flows.save(attrs.evolve(snapshot, version=version, **step.changes))
        if step.outbox is not None:  # the code's text goes out once the step is saved
            self._ports.sms.send(step.outbox.phone, step.outbox.message)
        return state


def _sources(transition: dict[str, Any]) -> list[State]:
    source = transition["source"]
    return source if isinstance(source, list) else [source]


# --- the floor: a hand-written dict dispatch ----------------------------------------------------

_Edge = tuple[tuple[Callable[[Step], bool], ...], State | None, tuple[Callable[[Step], None], ...]]


def _floor_table() -> dict[tuple[State, str], list[_Edge]]:
    table: dict[tuple[State, str], list[_Edge]] = {}
    for transition in TRANSITIONS:
        actions = (*transition.get("before", ()), *transition.get("after", ()))
        edge = (tuple(transition.get("conditions", ())), transition["dest"], actions)
        for source in _sources(transition):
            table.setdefault((source, transition["trigger"]), []).append(edge)
    return table


_FLOOR = _floor_table()


def floor(state: State, trigger: str, step: Step) -> State:
    """The least any dispatch can do: the first edge whose guards pass, expiry first."""
    for key in ((state, EXPIRE), (state, trigger)):
        for guards, dest, actions in _FLOOR.get(key, ()):
            if all(guard(step) for guard in guards):
                for action in actions:
                    action(step)
                return dest or state
    return state


# --- transitions, used naively ------------------------------------------------------------------


class _Model:
    """What `transitions` attaches triggers and the `state` attribute to."""

    state: State


def _run_transitions(model: Any, trigger: str, step: Step) -> State:  # noqa: ANN401 - untyped
    if not model.trigger(EXPIRE, step):
        model.trigger(trigger, step)
    state: State = model.state
    return state


def transitions_machine_per_flow(state: State, trigger: str, step: Step) -> State:
    """A new `Machine` for the flow each time it is loaded (the flow lives in a store)."""
    model = _Model()
    Machine(
        model=model,
        states=_STATES,
        transitions=TRANSITIONS,
        initial=state,
        auto_transitions=False,
    )
    return _run_transitions(model, trigger, step)


_SHARED = Machine(
    model=None, states=_STATES, transitions=TRANSITIONS, initial=INITIAL, auto_transitions=False
)


def transitions_add_remove_model(state: State, trigger: str, step: Step) -> State:
    """One shared `Machine`; the request's flow is `add_model`-ed and `remove_model`-ed."""
    model = _Model()
    _SHARED.add_model(model, initial=state)
    try:
        return _run_transitions(model, trigger, step)
    finally:
        _SHARED.remove_model(model)


# --- python-statemachine ------------------------------------------------------------------------


def _plain(function: Callable[[Step], Any]) -> Callable[[Step], Any]:
    """A fresh function object: python-statemachine writes attributes onto its callbacks."""

    def call(step: Step) -> Any:  # noqa: ANN401 - a guard's bool or an action's None
        return function(step)

    return call


def _chart_events(states: dict[State, ChartState]) -> Iterator[tuple[str, Any]]:
    for transition in TRANSITIONS:
        callbacks = {
            "cond": [_plain(f) for f in transition.get("conditions", ())],
            "before": [_plain(f) for f in transition.get("before", ())],
            "after": [_plain(f) for f in transition.get("after", ())],
        }
        dest = transition["dest"]
        for source in _sources(transition):
            to = states[source].to
            edge = (
                to.itself(internal=True, **callbacks)  # type: ignore[no-untyped-call]
                if dest is None
                else to(states[dest], **callbacks)
            )
            yield transition["trigger"], edge


def _chart_class() -> type[StateMachine]:
    """The declaration as a python-statemachine class, built once like a hand-written one."""
    states = {
        state: ChartState(
            state.value, value=state.value, initial=state is INITIAL, final=state in TERMINAL
        )
        for state in State
    }
    events: dict[str, Any] = {}
    for trigger, edge in _chart_events(states):
        events[trigger] = events[trigger] | edge if trigger in events else edge
    namespace = {state.value: chart_state for state, chart_state in states.items()}
    return type(
        "RegflowChart",
        (StateMachine,),
        {**namespace, **events, "allow_event_without_transition": True},
    )


_CHART = _chart_class()


def statemachine_instance_per_request(state: State, trigger: str, step: Step) -> State:
    """A python-statemachine instance started in the loaded flow's state."""
    chart = _CHART(start_value=state.value)
    chart.send(EXPIRE, step=step)
    if chart.current_state_value != State.EXPIRED:
        chart.send(trigger, step=step)
    return State(chart.current_state_value)
