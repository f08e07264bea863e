"""The other ways to run the same flow, for `run.py` to compare regflow with.

Every peer does the same business work as regflow's engine — it loads the snapshot from the
same in-memory store, evaluates the same rules and actions of the flow's `FlowSpec` on the
same `Step`, saves the new snapshot (state, path, context) — and differs only in how it
dispatches the event. Peers build no `FlowView` and log nothing, so the comparison favours
them. Each peer kind is a `Dispatch`, built from the declaration before any request is timed.
(They reach into regflow's private modules on purpose: only a benchmark may.)
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from statemachine import State as ChartState
from statemachine import StateMachine
from transitions import Machine

from regflow import EXPIRE, FlowSnapshot, MethodRegistry, Policy
from regflow.declare._step import Services, Step

if TYPE_CHECKING:
    from regflow import FlowSpec
    from regflow.testing import FakePorts

#: Fires the trigger on a loaded flow's step and returns the state the flow is in after it.
Fire = Callable[[enum.StrEnum, str, Step], enum.StrEnum]
#: Builds a peer's `Fire` for one declaration.
Dispatch = Callable[["FlowSpec"], Fire]


class Peer:
    """One request = load, dispatch with `fire`, save: regflow's contract minus the view."""

    def __init__(self, ports: FakePorts, spec: FlowSpec, dispatch: Dispatch) -> None:
        self._ports = ports
        self._spec = spec
        self._fire = dispatch(spec)
        self._triggers = {info.payload: trigger for trigger, info in spec.events.items()}
        self._terminal = spec.terminal
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
        spec, now = self._spec, self._ports.clock.now()
        snapshot = FlowSnapshot(
            flow_id=secrets.token_urlsafe(16),
            flow=spec.name,
            version=1,
            state=spec.initial,
            created_at=now,
            expires_at=now + spec.lifetime_under(self._services.policy),
            updated_at=now,
            context=spec.context(),
        )
        self._ports.flows.save(snapshot)
        return snapshot.flow_id

    def send(self, flow_id: str, event: object) -> enum.StrEnum:
        snapshot = self._ports.flows.load(flow_id)
        assert snapshot is not None  # noqa: S101 - the benchmark only sends to its own flows
        now = self._ports.clock.now()
        step = Step(self._services, snapshot, event, now)
        before: enum.StrEnum = snapshot.state  # type: ignore[assignment]  # typed by its store
        state = self._fire(before, self._triggers[type(event)], step)
        fields: dict[str, Any] = {}
        if state is not before:
            fields.update(state=state, path=(*snapshot.path, state))
            fields["finished"] = state in self._terminal
        if step.changes:
            fields["context"] = attrs.evolve(snapshot.context, **step.changes)
        if fields:
            version = snapshot.version + 1
            saved = attrs.evolve(snapshot, version=version, updated_at=now, **fields)
            self._ports.flows.save(saved)
        if step.outbox is not None:  # the code's text goes out once the step is saved
            self._ports.sms.send(step.outbox.phone, step.outbox.message)
        return state


def _sources(transition: Mapping[str, Any]) -> list[enum.StrEnum]:
    source = transition["source"]
    return source if isinstance(source, list) else [source]


def _check(guard: Callable[[Step], bool]) -> Callable[[Step], bool]:
    """A `Rule`'s own predicate (as the engine calls it), or a plain callable as it is."""
    check: Callable[[Step], bool] = getattr(guard, "check", guard)
    return check


# --- the floor: a hand-written dict dispatch ----------------------------------------------------

_Guards = tuple[Callable[[Step], bool], ...]
_Edge = tuple[_Guards, enum.StrEnum | None, tuple[Callable[[Step], None], ...]]


def _floor_table(spec: FlowSpec) -> dict[tuple[enum.StrEnum, str], list[_Edge]]:
    table: dict[tuple[enum.StrEnum, str], list[_Edge]] = {}
    for transition in spec.transitions:
        actions = (*transition.get("before", ()), *transition.get("after", ()))
        guards = tuple(_check(guard) for guard in transition.get("conditions", ()))
        for source in _sources(transition):
            key = (source, transition["trigger"])
            table.setdefault(key, []).append((guards, transition["dest"], actions))
    return table


def floor(spec: FlowSpec) -> Fire:
    """The least any dispatch can do: the first edge whose guards pass, expiry first."""
    table = _floor_table(spec)

    def fire(state: enum.StrEnum, trigger: str, step: Step) -> enum.StrEnum:
        for key in ((state, EXPIRE), (state, trigger)):
            for guards, dest, actions in table.get(key, ()):
                if all(guard(step) for guard in guards):
                    for action in actions:
                        action(step)
                    return dest or state
        return state

    return fire


# --- transitions, used naively ------------------------------------------------------------------


class _Model:
    """What `transitions` attaches triggers and the `state` attribute to."""

    state: enum.StrEnum


def _states(spec: FlowSpec) -> list[dict[str, Any]]:
    return [{"name": state, "final": info.terminal} for state, info in spec.states.items()]


def _transitions(spec: FlowSpec) -> list[dict[str, Any]]:
    return [dict(transition) for transition in spec.transitions]


def _run_transitions(model: Any, trigger: str, step: Step) -> enum.StrEnum:  # noqa: ANN401 - untyped
    if not model.trigger(EXPIRE, step):
        model.trigger(trigger, step)
    state: enum.StrEnum = model.state
    return state


def transitions_machine_per_flow(spec: FlowSpec) -> Fire:
    """A new `Machine` for the flow each time it is loaded (the flow lives in a store)."""
    states, transitions = _states(spec), _transitions(spec)

    def fire(state: enum.StrEnum, trigger: str, step: Step) -> enum.StrEnum:
        model = _Model()
        Machine(
            model=model,
            states=states,
            transitions=transitions,
            initial=state,
            auto_transitions=False,
        )
        return _run_transitions(model, trigger, step)

    return fire


def transitions_add_remove_model(spec: FlowSpec) -> Fire:
    """One shared `Machine`; the request's flow is `add_model`-ed and `remove_model`-ed."""
    shared = Machine(
        model=None,
        states=_states(spec),
        transitions=_transitions(spec),
        initial=spec.initial,
        auto_transitions=False,
    )

    def fire(state: enum.StrEnum, trigger: str, step: Step) -> enum.StrEnum:
        model = _Model()
        shared.add_model(model, initial=state)
        try:
            return _run_transitions(model, trigger, step)
        finally:
            shared.remove_model(model)

    return fire


# --- python-statemachine ------------------------------------------------------------------------


def _plain(function: Callable[[Step], Any]) -> Callable[[Step], Any]:
    """A fresh function object: python-statemachine writes attributes onto its callbacks."""
    check = _check(function)

    def call(step: Step) -> Any:  # noqa: ANN401 - a guard's bool or an action's None
        return check(step)

    return call


def _chart_events(
    spec: FlowSpec, states: dict[enum.StrEnum, ChartState]
) -> Iterator[tuple[str, Any]]:
    for transition in spec.transitions:
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


def _chart_class(spec: FlowSpec) -> type[StateMachine]:
    """The declaration as a python-statemachine class, built once like a hand-written one."""
    states = {
        state: ChartState(
            state.value, value=state.value, initial=state is spec.initial, final=info.terminal
        )
        for state, info in spec.states.items()
    }
    events: dict[str, Any] = {}
    for trigger, edge in _chart_events(spec, states):
        events[trigger] = events[trigger] | edge if trigger in events else edge
    namespace = {state.value: chart_state for state, chart_state in states.items()}
    return type(
        "RegflowChart",
        (StateMachine,),
        {**namespace, **events, "allow_event_without_transition": True},
    )


def statemachine_instance_per_request(spec: FlowSpec) -> Fire:
    """A python-statemachine instance started in the loaded flow's state."""
    chart_class, named = _chart_class(spec), spec.state_named

    def fire(state: enum.StrEnum, trigger: str, step: Step) -> enum.StrEnum:
        chart = chart_class(start_value=state.value)
        chart.send(EXPIRE, step=step)
        if chart.current_state_value == state.value:  # not expired: every expiry moves
            chart.send(trigger, step=step)
        return named(chart.current_state_value)

    return fire
