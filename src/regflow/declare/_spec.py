"""A flow, declared once: its states, events, guarded transitions, context and lifetime.

`FlowSpec` is the one source of truth of a flow. The engine compiles its transitions into a
dispatch table; `transitions.Machine` validates them (and draws them); the checks, the
generated tests and the docs read them. A host declares its own flows with the same class.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs
from transitions import Machine

from regflow._errors import ErrorSpec, Message
from regflow._ui import UiField, fields_of
from regflow.declare._migration import Migration
from regflow.declare._rules import EXPIRE

if TYPE_CHECKING:
    from regflow._policy import Policy
    from regflow.declare._snapshot import FlowSnapshot
    from regflow.declare._step import Services

_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: What the diagrams and docs call the engine's own trigger (`EXPIRE`).
EXPIRE_LABEL: Final = Message("Hết thời gian", "Time runs out")


@attrs.frozen
class StateInfo:
    """A state's label, and for a terminal state the error code an event on it answers."""

    label: Message
    finished: str | None = None

    @property
    def terminal(self) -> bool:
        return self.finished is not None


def state(vi: str, en: str, *, terminal: str | None = None) -> StateInfo:
    """A state of a declaration: ``state("Đặt mật khẩu", "Setting the password")``, or with
    ``terminal="flow.finished"`` a state the flow ends in."""
    return StateInfo(Message(vi, en), terminal)


#: The two ends every flow has besides its own: locked (by a rule) and past its lifetime.
FLOW_LOCKED: Final = state("Phiên bị khóa", "Flow locked", terminal="flow.locked")
FLOW_EXPIRED: Final = state("Phiên hết hạn", "Flow expired", terminal="flow.expired")


def _name_set(names: Iterable[str]) -> frozenset[str]:
    return frozenset(names)


@attrs.frozen
class EventInfo:
    """A trigger's payload type (a frozen attrs class), the button's label, and the fields
    of the payload this flow requires though the class gives them a default."""

    payload: type
    label: Message
    required: frozenset[str] = attrs.field(default=frozenset(), converter=_name_set)

    def __attrs_post_init__(self) -> None:
        unknown = sorted(self.required - {field.name for field in attrs.fields(self.payload)})
        if unknown:
            raise ValueError(f"{self.payload.__name__} has no field(s) {unknown}")

    @property
    def fields(self) -> tuple[UiField, ...]:
        """The inputs of the event's screen, as the payload's `regflow.declare.ui` declares."""
        return fields_of(self.payload, required=self.required)


def event(payload: type, vi: str, en: str, *, required: Iterable[str] = ()) -> EventInfo:
    """An event of a declaration: what the citizen sends, and what the button says;
    `required` names optional fields of `payload` that this flow needs all the same."""
    return EventInfo(payload, Message(vi, en), _name_set(required))


Lifetime = timedelta | Callable[["Policy"], timedelta]
ViewFields = Callable[["FlowSnapshot", "Services"], Mapping[str, Any]]


def _no_view(_: FlowSnapshot, __: Services) -> Mapping[str, Any]:
    return {}


def _nobody(_: object) -> str | None:
    return None


def _error_specs(errors: Iterable[ErrorSpec]) -> tuple[ErrorSpec, ...]:
    return tuple(errors)


def _migration_list(migrations: Iterable[Migration]) -> tuple[Migration, ...]:
    return tuple(migrations)


def _valid_name(_: object, __: attrs.Attribute[str], name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError(f"a flow's name is lower-case letters, digits and _: {name!r}")


def _attrs_class(_: object, __: attrs.Attribute[type], context: type) -> None:
    if not attrs.has(context):
        raise TypeError(f"a flow's context is an attrs class, not {context!r}")


@attrs.frozen(kw_only=True)
class FlowSpec:
    """A flow's declaration. Within one trigger and source, transitions are tried in the
    order written and the first whose guards all pass is taken; a transition whose
    ``dest`` is None rejects the event and stays, its guard's codes telling why.

    - `name` is how `Engine.start`, the stored snapshots and the tools name the flow;
      `version` the declaration's version (`fingerprint` tells when it changed);
    - `states` maps each state of a `StrEnum` to its labels and, if terminal, the code
      an event on it answers; `initial` is where `Engine.start` leaves a flow;
    - `events` maps each trigger to its payload type; `transitions` is the list of
      dicts `transitions.Machine` takes, guards being `regflow.Rule`s;
    - `context` is the frozen attrs class of what the flow remembers (every field has a
      default: `context()` is a new flow's), stored through cattrs;
    - `lifetime` is how long a flow lives (or the `Policy` setting that says it);
    - `view` gives the `FlowView` fields the flow shows for a snapshot;
    - `subject` reads from a context the personal number the logs show masked;
    - `requires` names the ports its rules call; `errors` its own error codes;
    - `migrations` say how flows begun on older versions move onto this one
      (`regflow.declare.Migration`; docs/versioning.md).
    """

    name: str = attrs.field(validator=_valid_name)
    title: Message
    #: Keyed by the members of the flow's own `StrEnum` (`Any`: a Mapping's key is invariant).
    states: Mapping[Any, StateInfo]
    initial: enum.StrEnum
    events: Mapping[str, EventInfo]
    transitions: Sequence[Mapping[str, Any]]
    context: type = attrs.field(validator=_attrs_class)
    lifetime: Lifetime
    view: ViewFields = _no_view
    requires: frozenset[str] = attrs.field(default=frozenset(), converter=_name_set)
    errors: tuple[ErrorSpec, ...] = attrs.field(default=(), converter=_error_specs)
    #: Whom a flow is about, for the logs (masked there): an ID number, say.
    subject: Callable[[Any], str | None] = _nobody
    version: int = 1
    migrations: tuple[Migration, ...] = attrs.field(default=(), converter=_migration_list)
    #: The declaration as a `transitions` machine: validated once, the input of diagrams.
    machine: Any = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.initial not in self.states:
            raise ValueError(f"{self.name}: the initial state {self.initial} is not declared")
        self.context()  # every field has a default
        self._check_migrations()
        object.__setattr__(self, "machine", self._build_machine())

    def _check_migrations(self) -> None:
        froms = [migration.from_version for migration in self.migrations]
        if len(set(froms)) != len(froms) or any(v >= self.version for v in froms):
            raise ValueError(
                f"{self.name} v{self.version}: one migration per older version, each from a "
                f"version below {self.version}: {froms}"
            )
        names = {str(s) for s in self.states}
        for migration in self.migrations:
            unknown = sorted(
                {dest for old in migration.states for dest in migration.dests(old)} - names
            )
            if unknown:
                raise ValueError(
                    f"{self.name} v{self.version}: the migration from "
                    f"v{migration.from_version} names undeclared state(s) {unknown}"
                )

    def migration_from(self, version: int) -> Migration | None:
        """This declaration's migration of flows begun on `version`, if it declares one."""
        return next((m for m in self.migrations if m.from_version == version), None)

    def _build_machine(self) -> Machine:
        return Machine(
            model=None,
            states=[{"name": s, "final": info.terminal} for s, info in self.states.items()],
            transitions=[dict(t) for t in self.transitions],
            initial=self.initial,
            auto_transitions=False,
            send_event=False,
            name=self.name,
        )

    def with_transitions(self, transitions: Sequence[Mapping[str, Any]]) -> FlowSpec:
        """The same flow with other transitions: a host's extra rules, say."""
        return attrs.evolve(self, transitions=transitions)

    @property
    def terminal(self) -> dict[enum.StrEnum, str]:
        """Terminal states, each with the error an event on a finished flow reports."""
        return {s: info.finished for s, info in self.states.items() if info.finished}

    def state_named(self, value: str) -> enum.StrEnum:
        """The state member of a stored name (KeyError: the declaration has no such state)."""
        return type(self.initial)(value)

    def lifetime_under(self, policy: Policy) -> timedelta:
        return self.lifetime if isinstance(self.lifetime, timedelta) else self.lifetime(policy)

    def trigger_labels(self) -> dict[str, Message]:
        labels = {trigger: info.label for trigger, info in self.events.items()}
        return {**labels, EXPIRE: EXPIRE_LABEL}

    @property
    def fingerprint(self) -> str:
        """A digest of what stored flows depend on: states, transitions (with their rules'
        and actions' names) and the context's fields. Equal declarations, equal digests."""
        shape = {
            "states": {s.value: info.finished for s, info in self.states.items()},
            "initial": self.initial.value,
            "transitions": [_transition_shape(t) for t in self.transitions],
            # resolved first: cattrs resolves a class's string annotations in place when it
            # first structures one, and the digest must not depend on whether it has yet
            "context": [
                (f.name, repr(f.type)) for f in attrs.fields(attrs.resolve_types(self.context))
            ],
        }
        text = json.dumps(shape, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _names(value: object) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [] if value is None else [value]
    return [getattr(item, "__name__", str(item)) for item in items]


def _transition_shape(transition: Mapping[str, Any]) -> dict[str, object]:
    shape: dict[str, object] = {
        key: _names(transition.get(key)) for key in ("conditions", "unless", "before", "after")
    }
    shape.update(
        trigger=transition["trigger"],
        source=_names(transition["source"]),
        dest=transition.get("dest"),
    )
    return shape
