"""The static migration check against the engine: random declaration changes, with their
migrations, are judged by `migration_check` and then run; the verdicts must agree.

A random version 1 and version 2 of a small flow (states named by letters, one event
`Go(dest)` whose edges each go to one state) and a random migration between them (states
left out, moved always, moved only when the context's `flag` is set, or either way). Every
non-terminal state of version 1 is stored with the flag set and unset, and read by an
engine that runs version 2 (and version 1, unless it is retired): a flow that cannot
continue must be what the check calls `no_target` (or `version_stranded`), and a flow
moved to a state no version-2 flow can reach (found by driving the engine) what it calls
`migration_target_unreachable`.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from regflow import FlowSnapshot, FlowSpec, Message, Migration, Step
from regflow.declare import event, otherwise, state, when
from regflow.testing import FakePorts
from regflow.tools._migration_check import migration_check

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from regflow import Engine

DONE = "done"


@attrs.frozen
class Go:
    dest: str


@attrs.frozen
class Flagged:
    flag: bool = False


def flag_set(context: Mapping[str, Any]) -> bool:
    return bool(context.get("flag"))


def _to(dest: str) -> Callable[[Step], bool]:
    def check(step: Step) -> bool:
        return bool(step.payload(Go).dest == dest)

    check.__name__ = f"to_{dest}"
    return check


@attrs.frozen
class Change:
    """Two versions of a flow, the migration between them, and whether v1 is retired."""

    v1: FlowSpec
    v2: FlowSpec
    retired: bool


def _spec(
    version: int, names: list[str], edges: dict[str, list[str]], migration: Migration | None
) -> FlowSpec:
    states = enum.StrEnum(f"V{version}", [*names, DONE])  # type: ignore[misc]
    return FlowSpec(
        name="random_flow",
        title=Message("Thử", "Test"),
        states={s: state(s, s, terminal="flow.finished" if s == DONE else None) for s in states},
        initial=states(names[0]),
        events={"go": event(Go, "Đi", "Go")},
        transitions=[
            {"trigger": "go", "source": source, "dest": dest, "conditions": [_to(dest)]}
            for source, dests in edges.items()
            for dest in dests
        ],
        context=Flagged,
        lifetime=timedelta(days=1),
        version=version,
        migrations=[migration] if migration else [],
    )


@st.composite
def graphs(draw: st.DrawFn, pool: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    names = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True))
    targets = [*names, DONE]
    edges = {
        name: draw(st.lists(st.sampled_from(targets), max_size=3, unique=True)) for name in names
    }
    return names, edges


@st.composite
def changes(draw: st.DrawFn) -> Change:
    names1, edges1 = draw(graphs(["a", "b", "c", "d"]))
    names2, edges2 = draw(graphs(["a", "b", "p", "q"]))
    targets = st.sampled_from([*names2, DONE])
    routes = st.one_of(
        st.none(),
        targets.map(otherwise),
        targets.map(lambda dest: when(flag_set, dest)),
        st.tuples(targets, targets).map(lambda ds: [when(flag_set, ds[0]), otherwise(ds[1])]),
    )
    mapped = {name: draw(routes) for name in names1}
    states = {name: route for name, route in mapped.items() if route is not None}
    migration = Migration(from_version=1, states=states) if draw(st.booleans()) else None
    return Change(
        _spec(1, names1, edges1, None), _spec(2, names2, edges2, migration), draw(st.booleans())
    )


def _reachable(engine: Engine, spec: FlowSpec) -> set[str]:
    """The states version-2 flows reach, by driving new flows along every way found."""
    ways: dict[str, list[str]] = {spec.initial.value: []}
    frontier = [spec.initial.value]
    while frontier:
        source = frontier.pop()
        for dest in [s.value for s in spec.states]:
            view = engine.start(spec.name)
            for step in [*ways[source], dest]:
                view = engine.send(view.flow_id, Go(step))
            reached = str(view.state)
            if reached not in ways:
                ways[reached] = [*ways[source], dest]
                frontier.append(reached)
    return set(ways)


def _run(change: Change) -> set[str]:
    """The kinds of finding that running the stored flows of version 1 shows."""
    ports = FakePorts()
    engine = ports.engine(change.v2) if change.retired else ports.engine(change.v2, change.v1)
    reachable = _reachable(engine, change.v2)
    found: set[str] = set()
    stranded = "version_stranded" if not change.v2.migrations else "no_target"
    for index, (old, flag) in enumerate(
        (s, flag) for s in change.v1.states if s.value != DONE for flag in (True, False)
    ):
        flow_id = f"{index:022d}"
        ports.flows.flows[flow_id] = FlowSnapshot(
            flow_id=flow_id,
            flow=change.v1.name,
            version=1,
            state=old.value,
            created_at=ports.clock.now(),
            expires_at=ports.clock.now() + timedelta(days=1),
            context=Flagged(flag),
        )
        if engine.view(flow_id).error_codes() == ("flow.version_unknown",):
            found.add(stranded)
        stored = ports.flows.flows[flow_id]
        if stored.flow_version == 2 and str(stored.state) not in reachable:
            found.add("migration_target_unreachable")
    return found


@settings(max_examples=80, deadline=None)
@given(changes())
def test_the_static_check_agrees_with_running_the_migrated_flows(change: Change) -> None:
    retired = (1,) if change.retired else ()
    verdict = {finding.kind for finding in migration_check([change.v1, change.v2], retired=retired)}

    assert verdict == _run(change)
