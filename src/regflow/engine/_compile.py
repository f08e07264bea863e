"""A declaration compiled for the engine: (state, trigger) → the edges tried, in order."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from regflow._errors import ERRORS, ErrorSpec
from regflow.declare._rules import EXPIRE, UNNAMED, Rule, guard_name
from regflow.declare._spec import FlowSpec

if TYPE_CHECKING:
    from regflow._errors import FlowError
    from regflow.declare._step import Step

Action = Callable[["Step"], None]
Predicate = Callable[["Step"], bool]
Report = Callable[["Step"], "Sequence[FlowError]"]


def _predicate(guard: Predicate) -> Predicate:
    """A `Rule`'s own check, or a host's plain callable as it is."""
    return guard.check if isinstance(guard, Rule) else guard


@attrs.frozen
class Edge:
    """One compiled transition: taken when every guard passes and no `negated` one does."""

    trigger: str
    source: enum.StrEnum
    dest: enum.StrEnum | None
    guards: tuple[Rule, ...]
    before: tuple[Action, ...]
    after: tuple[Action, ...]
    #: The ``unless=`` guards of the declaration.
    negated: tuple[Rule, ...] = ()
    #: The guards' predicates, to call without `Rule.__call__` on every request.
    _checks: tuple[Predicate, ...] = attrs.field(init=False, repr=False, eq=False)
    _negated_checks: tuple[Predicate, ...] = attrs.field(init=False, repr=False, eq=False)
    #: What the guards that are `Rule`s report (a host's plain callable reports nothing).
    _reports: tuple[Report, ...] = attrs.field(init=False, repr=False, eq=False)

    @_checks.default
    def _guard_checks(self) -> tuple[Predicate, ...]:
        return tuple(_predicate(guard) for guard in self.guards)

    @_negated_checks.default
    def _negated_guard_checks(self) -> tuple[Predicate, ...]:
        return tuple(_predicate(guard) for guard in self.negated)

    @_reports.default
    def _guard_reports(self) -> tuple[Report, ...]:
        reports = (getattr(guard, "report", None) for guard in self.guards)
        return tuple(report for report in reports if report is not None)

    def passes(self, step: Step) -> bool:
        # Plain loops: every request runs this, and the generator frames of
        # `all(…)`/`any(…)` cost more than most guards.
        for check in self._checks:
            if not check(step):
                return False
        for check in self._negated_checks:  # noqa: SIM110 - see above
            if check(step):
                return False
        return True

    def reported(self, step: Step) -> list[FlowError]:
        """What the guards tell the citizen: a `Rule` its codes, a plain callable of a
        host's declaration nothing (the static check asks for a rule)."""
        errors: list[FlowError] = []
        for report in self._reports:
            errors.extend(report(step))
        return errors

    @property
    def rule(self) -> str | None:
        """The name the log gives the edge, as `regflow.analysis` names it for coverage."""
        if not self.guards:
            return None
        return guard_name(self.guards[-1]) or UNNAMED


Table = dict[tuple[enum.StrEnum, str], tuple[Edge, ...]]


def choose(step: Step, edges: Sequence[Edge]) -> Edge | None:
    for edge in edges:  # a loop, not next(generator): see `Edge.passes`
        if edge.passes(step):
            return edge
    return None


@attrs.frozen
class CompiledFlow:
    """What the engine runs of one `FlowSpec`: its table, and what each state allows."""

    spec: FlowSpec
    table: Table
    allowed: Mapping[enum.StrEnum, frozenset[str]]
    triggers: Mapping[type, str]
    terminal: Mapping[enum.StrEnum, str]

    @classmethod
    def of(cls, spec: FlowSpec) -> CompiledFlow:
        table = _table(spec)
        allowed = {
            state: frozenset(t for (s, t) in table if s == state and t != EXPIRE)
            for state in spec.states
        }
        triggers = {info.payload: trigger for trigger, info in spec.events.items()}
        return cls(spec, table, allowed, triggers, spec.terminal)


def _table(spec: FlowSpec) -> Table:
    """Turn the `transitions` machine into the (state, trigger) → edges table."""
    states: type[enum.StrEnum] = type(spec.initial)
    table: dict[tuple[enum.StrEnum, str], list[Edge]] = {}
    for trigger, machine_event in spec.machine.events.items():
        for source_name, transitions in machine_event.transitions.items():
            source = states[source_name]
            for transition in transitions:
                edge = Edge(
                    trigger=trigger,
                    source=source,
                    dest=None if transition.dest is None else states[transition.dest],
                    # transitions marks an ``unless=`` condition with target False
                    guards=tuple(c.func for c in transition.conditions if c.target),
                    before=tuple(transition.before),
                    after=tuple(transition.after),
                    negated=tuple(c.func for c in transition.conditions if not c.target),
                )
                table.setdefault((source, trigger), []).append(edge)
    return {key: tuple(edges) for key, edges in table.items()}


def catalogue(specs: Sequence[FlowSpec]) -> dict[str, ErrorSpec]:
    """regflow's codes and every flow's own; one code may not mean two things."""
    codes = dict(ERRORS)
    for spec in specs:
        for error in spec.errors:
            known = codes.setdefault(error.code, error)
            if known != error:
                raise ValueError(f"{spec.name}: error code {error.code!r} is already declared")
    return codes
