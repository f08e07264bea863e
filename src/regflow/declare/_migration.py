"""How a flow begun on an older version of a declaration moves onto a newer one.

A newer `FlowSpec` lists its `migrations`, one per older version it takes flows from: a
state map (old state name → new state, or routes whose guards read the stored context) and
a context upgrade. A stored flow whose old state the map leaves out, or whose routes all
fail, is not moved: it stays pinned to the version it began on, which the engine must then
still run. The engine applies a migration on the flow's next load; `regflow check
--migration` proves the maps total before a deploy.

The map and its guards read what every store keeps: state names and the context as the
JSON-ready mapping cattrs unstructured it to. So a migration never needs the old
version's classes, and a retired version's flows can still be moved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

#: A route's condition: it reads the stored (JSON-ready) context of the old version.
MigrationGuard = Callable[[Mapping[str, Any]], bool]
#: A context upgrade: the old version's stored context → the new version's (JSON-ready;
#: the engine then structures it as the new `FlowSpec.context`, through cattrs).
ContextUpgrade = Callable[[dict[str, Any]], dict[str, Any]]


@attrs.frozen
class Route:
    """One way out of an old state: to `dest` when `guard` passes (always, without one)."""

    dest: str
    guard: MigrationGuard | None = None

    @property
    def guard_name(self) -> str:
        return getattr(self.guard, "__name__", repr(self.guard)) if self.guard else "otherwise"


def when(guard: MigrationGuard, dest: str) -> Route:
    """A guarded route: ``states={"otp_pending": [when(has_phone, "otp_pending"),
    otherwise("filling_form")]}``."""
    return Route(str(dest), guard)


def otherwise(dest: str) -> Route:
    """The route taken when no guarded route before it passes."""
    return Route(str(dest))


#: Where an old state goes: a new state, one route, or routes tried in order.
StateTarget = str | Route | Sequence[Route]


def _as_routes(target: StateTarget) -> tuple[Route, ...]:
    if isinstance(target, str):
        return (otherwise(target),)
    return (target,) if isinstance(target, Route) else tuple(target)


def _routes(states: Mapping[Any, StateTarget]) -> dict[str, tuple[Route, ...]]:
    """Every entry as its routes, keyed by the old state's name (an enum's value)."""
    return {str(old): _as_routes(target) for old, target in states.items()}


def _keep(context: dict[str, Any]) -> dict[str, Any]:
    """The default upgrade: the new context structures the old one as stored (a field it
    no longer has is dropped, a field it adds takes its default)."""
    return context


@attrs.frozen(kw_only=True)
class Migration:
    """How flows of `from_version` move onto the declaration that lists this migration.

    `states` maps an old state (its name, or a member of the old `StrEnum`) to a state of
    the new version, or to routes tried in order (`when`, `otherwise`); `context` turns the
    old stored context into the new one (by default it is kept as it is, cattrs then
    structuring it as the new context class, which a host may teach with its own hooks).
    """

    from_version: int
    states: Mapping[str, tuple[Route, ...]] = attrs.field(converter=_routes)
    context: ContextUpgrade = _keep

    def target(self, state: str, context: Mapping[str, Any]) -> str | None:
        """The new state of a flow stored in `state`, or None when it stays pinned."""
        for route in self.states.get(state, ()):
            if route.guard is None or route.guard(context):
                return route.dest
        return None

    def always_moves(self, state: str) -> bool:
        """Whether every flow in `state` moves, whatever its context (an unguarded route)."""
        return any(route.guard is None for route in self.states.get(state, ()))

    def dests(self, state: str) -> tuple[str, ...]:
        """Every state a flow in `state` may move to."""
        return tuple(route.dest for route in self.states.get(state, ()))
