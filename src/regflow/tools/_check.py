"""The static check: what is wrong with a machine declaration before any flow runs it.

Each check is one small function from a `Declaration` to findings; `check` runs them all.
Guards are assumed able to pass or fail independently, so "unreachable" means no sequence
of events can get there whatever the rules decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import attrs

from regflow.declare._rules import HostHook, guard_name
from regflow.tools._declaration import Declaration, Transition


@attrs.frozen
class Finding:
    """One problem: `kind` is stable (tests match it), `subject` the state or trigger."""

    kind: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


Check = Callable[[Declaration], Iterator[Finding]]


def reachable_states(declaration: Declaration) -> set[str]:
    """The states some sequence of events can lead to from the initial one."""
    seen = {declaration.initial}
    frontier = [declaration.initial]
    while frontier:
        source = frontier.pop()
        for edge in declaration.outgoing(source):
            if edge.dest is not None and edge.dest not in seen:
                seen.add(edge.dest)
                frontier.append(edge.dest)
    return seen


def _unknown_states(declaration: Declaration) -> Iterator[Finding]:
    known = set(declaration.states)
    if declaration.initial not in known:
        yield Finding("unknown_state", declaration.initial, "the initial state is not declared")
    for name in sorted(declaration.terminal - known):
        yield Finding("unknown_state", name, f"terminal state {name!r} is not declared")
    for edge in declaration.transitions:
        for named in (edge.source, edge.dest):
            if named is not None and named not in known:
                yield Finding(
                    "unknown_state",
                    named,
                    f"transition #{edge.index} ({edge}) names undeclared state {named!r}",
                )


def _unreachable(declaration: Declaration) -> Iterator[Finding]:
    reachable = reachable_states(declaration)
    for state in declaration.states:
        if state not in reachable:
            yield Finding(
                "unreachable_state",
                state,
                f"state {state!r} cannot be reached from {declaration.initial!r}",
            )


def _dead_ends(declaration: Declaration) -> Iterator[Finding]:
    for state in declaration.states:
        if state in declaration.terminal:
            continue
        exits = [e for e in declaration.outgoing(state) if e.dest not in {None, state}]
        if not exits:
            yield Finding(
                "dead_end",
                state,
                f"state {state!r} has no way out and is not marked terminal",
            )


def _terminal_exits(declaration: Declaration) -> Iterator[Finding]:
    for state in sorted(declaration.terminal):
        for edge in declaration.outgoing(state):
            yield Finding(
                "terminal_has_transitions",
                state,
                f"terminal state {state!r} declares {edge}, which the engine never runs",
            )


def _triggers(declaration: Declaration) -> Iterator[Finding]:
    declared = {edge.trigger for edge in declaration.transitions}
    for trigger in sorted(declaration.events - declared):
        yield Finding("trigger_unused", trigger, f"event {trigger!r} has no transition")
    for trigger in sorted(declared):
        if all(e.dest is None for e in declaration.transitions if e.trigger == trigger):
            yield Finding(
                "trigger_without_target",
                trigger,
                f"trigger {trigger!r} only rejects: none of its transitions has a dest",
            )
    known = declaration.events | declaration.implicit
    for trigger in sorted(declared - known) if known else ():
        yield Finding(
            "trigger_undeclared",
            trigger,
            f"trigger {trigger!r} is neither an event nor fired by the engine",
        )


def _guards(declaration: Declaration) -> Iterator[Finding]:
    for edge in declaration.transitions:
        for guard in edge.negated:
            yield Finding(
                "unless_unsupported",
                edge.trigger,
                f"{edge} uses unless={guard_name(guard) or guard!r}: the engine honours it, but "
                "paths and coverage name an edge by its conditions only; declare a rule that "
                "says the positive case",
            )
        for guard in edge.guards:
            yield from _guard_findings(declaration, edge, guard)


def _guard_findings(declaration: Declaration, edge: Transition, guard: object) -> Iterator[Finding]:
    name = guard_name(guard)
    if name is None:
        yield Finding(
            "guard_unnamed",
            edge.trigger,
            f"{edge} has a guard with no rule name ({guard!r}); declare it as a Rule",
        )
        return
    codes = getattr(guard, "codes", ())
    if not codes:
        yield Finding(
            "guard_undocumented",
            name,
            f"rule {name!r} on {edge} reports no error code",
        )
    for code in codes:
        if code not in declaration.errors:
            yield Finding(
                "guard_undocumented",
                name,
                f"rule {name!r} on {edge} reports {code!r}, which is not in the error catalogue",
            )


def _shadowed(declaration: Declaration) -> Iterator[Finding]:
    """An edge never fires when an earlier edge of its (source, trigger) needs fewer guards.

    Fewer on both sides: an earlier edge with an `unless=` guard the later one lacks does not
    always fire when the later one could.
    """
    pairs = dict.fromkeys((e.source, e.trigger) for e in declaration.transitions)
    for source, trigger in pairs:
        edges = declaration.edges(source, trigger)
        for position, edge in enumerate(edges):
            winner = next(
                (
                    e
                    for e in edges[:position]
                    if {*e.guards} <= {*edge.guards} and {*e.negated} <= {*edge.negated}
                ),
                None,
            )
            if winner is not None:
                yield Finding(
                    "never_fires",
                    trigger,
                    f"{edge} can never fire: {winner} comes first and always wins",
                )


def _ambiguous_rules(declaration: Declaration) -> Iterator[Finding]:
    """Coverage tells edges apart by (source, trigger, rule): that must name one edge."""
    seen: set[tuple[str, str, str]] = set()
    for edge in declaration.transitions:
        key = (edge.source, edge.trigger, edge.outcome)
        if key in seen:
            yield Finding(
                "ambiguous_rule",
                edge.trigger,
                f"{edge} ends with the same rule as an earlier edge of its source and trigger",
            )
        seen.add(key)


CHECKS: Final[tuple[Check, ...]] = (
    _unknown_states,
    _unreachable,
    _dead_ends,
    _terminal_exits,
    _triggers,
    _guards,
    _shadowed,
    _ambiguous_rules,
)


@attrs.frozen
class HookPoint:
    """A host hook on an edge (`regflow.declare.host_veto`): a host's veto can take it,
    so the path depends on the host's code, not only on the flow's rules. Not a finding:
    ``regflow check`` lists them beside its findings."""

    hook: str
    transition: Transition

    def __str__(self) -> str:
        return f"host hook {self.hook}: {self.transition} (a host's veto can take this edge)"


def host_hooks(declaration: Declaration) -> list[HookPoint]:
    """Every edge a host hook guards, in declaration order."""
    return [
        HookPoint(guard.name, edge)
        for edge in declaration.transitions
        for guard in edge.guards
        if isinstance(guard, HostHook)
    ]


def check(declaration: Declaration) -> list[Finding]:
    """Every finding of every check, in a stable order; an empty list means a sound machine."""
    return [finding for run in CHECKS for finding in run(declaration)]
