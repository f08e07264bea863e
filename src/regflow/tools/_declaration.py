"""A machine declaration as plain data the analyses can read, whatever wrote it.

`Declaration` takes the `transitions`-format list of dicts (the same one `regflow.machine`
feeds to `transitions.Machine`) without building a machine from it, so a broken declaration,
one `transitions` would refuse, can still be checked and explained.
"""

from __future__ import annotations

import enum
import importlib
from typing import TYPE_CHECKING, Any

import attrs

from regflow._errors import ERRORS
from regflow.declare import EXPIRE, FlowSpec
from regflow.declare._rules import UNNAMED, guard_name

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

#: The outcome name of an edge without guards: taken when no guarded edge before it fires.
OTHERWISE = "otherwise"


def label(state: object) -> str:
    """A state's name as logs and reports spell it (an enum's value, else the text)."""
    if isinstance(state, enum.Enum):
        return str(state.value)
    return str(state)


@attrs.frozen
class Transition:
    """One declared edge from one source: `guards` must all pass; `dest` None rejects.

    `rule` is the name the engine logs for it: its last guard's, or None when unguarded.
    """

    trigger: str
    source: str
    dest: str | None
    guards: tuple[Any, ...]
    negated: tuple[Any, ...] = ()
    index: int = 0  # position in the declaration, to name it in findings

    @property
    def rule(self) -> str | None:
        if not self.guards:
            return None
        return guard_name(self.guards[-1]) or UNNAMED

    @property
    def outcome(self) -> str:
        return self.rule or OTHERWISE

    @property
    def target(self) -> str:
        """The state the flow is in after this edge: `dest`, or `source` for a rejection."""
        return self.source if self.dest is None else self.dest

    def __str__(self) -> str:
        return f"{self.source} --{self.trigger} [{self.outcome}]--> {self.dest or '(stays)'}"


def _listed(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


@attrs.frozen(kw_only=True)
class Declaration:
    """A machine declaration: its transitions, states, start, terminal states and events.

    `events` are the triggers the host app sends; `implicit` the ones the engine fires
    itself (regflow's `expire`). `errors` are the documented codes a guard may report.
    """

    transitions: tuple[Transition, ...]
    states: tuple[str, ...]
    initial: str
    terminal: frozenset[str]
    events: frozenset[str] = frozenset()
    implicit: frozenset[str] = frozenset()
    errors: frozenset[str] = attrs.field(factory=lambda: frozenset(ERRORS))
    #: The `transitions.Machine` built from it, when there is one: what an engine runs.
    machine: Any = attrs.field(default=None, eq=False, repr=False)
    #: The flow it was read from, when there is one (`from_spec`).
    spec: FlowSpec | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def build(  # noqa: PLR0913 - mirrors the declaration's parts, all keyword-only
        cls,
        *,
        transitions: Iterable[Mapping[str, Any]],
        states: Iterable[object],
        initial: object,
        terminal: Iterable[object],
        events: Iterable[str] = (),
        implicit: Iterable[str] = (),
        errors: Collection[str] = ERRORS.keys(),
        machine: Any = None,  # noqa: ANN401 - transitions is untyped
        spec: FlowSpec | None = None,
    ) -> Declaration:
        """Read a `transitions`-format list of dicts (source may be a list or ``"*"``)."""
        state_labels = tuple(label(state) for state in states)
        edges = [
            edge
            for index, spec in enumerate(transitions)
            for edge in _expand(spec, index, state_labels)
        ]
        return cls(
            transitions=tuple(edges),
            states=state_labels,
            initial=label(initial),
            terminal=frozenset(label(state) for state in terminal),
            events=frozenset(events),
            implicit=frozenset(implicit),
            errors=frozenset(errors),
            machine=machine,
            spec=spec,
        )

    @classmethod
    def from_spec(cls, spec: FlowSpec) -> Declaration:
        """A flow's declaration (`regflow.FlowSpec`), with its own error codes."""
        codes = {*ERRORS, *(error.code for error in spec.errors)}
        return cls.build(
            transitions=spec.transitions,
            states=[state.value for state in spec.states],
            initial=spec.initial,
            terminal=spec.terminal,
            events=spec.events,
            implicit=[EXPIRE],
            errors=codes,
            machine=spec.machine,
            spec=spec,
        )

    @classmethod
    def load(cls, target: str) -> Declaration:
        """``module:ATTRIBUTE`` (a `FlowSpec` or a `Declaration`), or a ``module`` that
        holds exactly one flow (``regflow.machine``, say): its newest version, when the
        module holds several versions of it."""
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        if attribute:
            found = getattr(module, attribute)
        else:
            specs = [value for value in vars(module).values() if isinstance(value, FlowSpec)]
            if len({spec.name for spec in specs}) != 1:
                raise TypeError(f"{target} holds {len(specs)} flows: name one, module:ATTRIBUTE")
            found = max(specs, key=lambda spec: spec.version)
        if isinstance(found, FlowSpec):
            return cls.from_spec(found)
        if not isinstance(found, Declaration):
            raise TypeError(f"{target} is a {type(found).__name__}, not a FlowSpec")
        return found

    def edges(self, source: str, trigger: str) -> tuple[Transition, ...]:
        """The edges tried, in order, when `trigger` arrives in `source`."""
        return tuple(t for t in self.transitions if t.source == source and t.trigger == trigger)

    def outgoing(self, source: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.source == source)


def _expand(spec: Mapping[str, Any], index: int, states: Sequence[str]) -> list[Transition]:
    """One dict of the declaration → one `Transition` per source state it names."""
    sources = spec.get("source")
    expanded = list(states) if sources == "*" else [label(s) for s in _listed(sources)]
    dest = spec.get("dest")
    return [
        Transition(
            trigger=spec["trigger"],
            source=source,
            dest=None if dest is None else label(dest),
            guards=tuple(_listed(spec.get("conditions"))),
            negated=tuple(_listed(spec.get("unless"))),
            index=index,
        )
        for source in expanded
    ]
