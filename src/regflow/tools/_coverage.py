"""Transition coverage: which declared transitions a test run made the engine take.

It reads the engine's own ``flow.transition`` log events (``flow``, ``trigger``, ``source``,
``rule``), so it measures what ran, not what a test meant to run. One coverage counts one
flow: the events of other flows are not its business (their states may share its names).
(source, trigger, rule) names one edge; the static check's ``ambiguous_rule`` finding
guards that.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs

from regflow.tools._declaration import Declaration, Transition

if TYPE_CHECKING:
    from collections.abc import Mapping

TRANSITION_EVENT = "flow.transition"


def _key(source: str, trigger: str, rule: str | None) -> tuple[str, str, str | None]:
    return (source, trigger, rule)


@attrs.define
class TransitionCoverage:
    """Counts per declared transition of one flow; feed it the engine's ``flow.transition``
    events. `flow` is the flow's name (by default its spec's): events of other flows are
    ignored; without one, every event counts."""

    declaration: Declaration
    flow: str | None = attrs.field(
        default=attrs.Factory(
            lambda self: self.declaration.spec.name if self.declaration.spec else None,
            takes_self=True,
        )
    )
    hits: Counter[Transition] = attrs.Factory(Counter)
    unknown: Counter[tuple[str, str, str | None]] = attrs.Factory(Counter)
    _edges: dict[tuple[str, str, str | None], Transition] = attrs.field(init=False)

    @_edges.default
    def _index(self) -> dict[tuple[str, str, str | None], Transition]:
        return {_key(e.source, e.trigger, e.rule): e for e in self.declared}

    def record(self, event: Mapping[str, Any]) -> None:
        """Count one log event; events other than this flow's ``flow.transition`` are ignored."""
        if event.get("event") != TRANSITION_EVENT:
            return
        if self.flow is not None and event.get("flow", self.flow) != self.flow:
            return
        key = _key(str(event.get("source")), str(event.get("trigger")), event.get("rule"))
        edge = self._edges.get(key)
        if edge is None:
            self.unknown[key] += 1
        else:
            self.hits[edge] += 1

    @property
    def declared(self) -> tuple[Transition, ...]:
        """The transitions the engine can take: from non-terminal states."""
        terminal = self.declaration.terminal
        return tuple(e for e in self.declaration.transitions if e.source not in terminal)

    @property
    def missed(self) -> tuple[Transition, ...]:
        return tuple(edge for edge in self.declared if not self.hits[edge])

    @property
    def percent(self) -> float:
        declared = self.declared
        if not declared:
            return 100.0
        return 100.0 * (len(declared) - len(self.missed)) / len(declared)

    def report(self, *, verbose: bool = False) -> str:
        """The lines a terminal shows: the total, then each missed edge (verbose: every edge,
        and the transitions the run took that the flow does not declare)."""
        declared = self.declared
        of = f" of {self.flow}" if self.flow else ""
        lines = [
            (
                f"regflow transition coverage{of}: {len(declared) - len(self.missed)}"
                f"/{len(declared)} transitions ({self.percent:.1f} %)"
            )
        ]
        shown = declared if verbose else self.missed
        lines.extend(f"  {self.hits[edge]:>5}  {edge}" for edge in shown)
        unknown = sorted(self.unknown, key=str) if verbose else []
        lines.extend(
            f"  unknown  {source} --{trigger} [{rule}]: not declared in the covered flow"
            for source, trigger, rule in unknown
        )
        return "\n".join(lines)
