"""What the engine tells a metrics and tracing system as it works, if a host wants it.

The engine calls an `Instrumentation` around each request and each port call, and after
each transition; with none given (the default) it calls nothing. regflow's own is
`regflow.adapters.otel.OpenTelemetryInstrumentation` (the ``otel`` extra). Every value it
is given is the engine's own: names from the declaration, error codes, port names. None
is personal data, so an implementation may put all of them in attributes as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

import attrs

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

#: The engine calls that are requests: `Engine.start`, `Engine.send`, `Engine.view`.
Operation = Literal["start", "send", "view"]


@attrs.frozen(kw_only=True)
class Transition:
    """One transition the engine took, as its audit line names it.

    `dest` is the state the flow is in afterwards (the source for a refusal); `finished`
    whether that state ends the flow; `errors` the codes the citizen was given.
    """

    flow: str
    flow_version: int
    flow_id: str
    trigger: str
    source: str
    dest: str
    rule: str | None
    errors: tuple[str, ...]
    finished: bool


class Instrumentation(Protocol):
    """Spans and measurements of the engine's work; none of its calls may raise."""

    def request(self, operation: Operation, trigger: str) -> AbstractContextManager[None]:
        """Around one request: `trigger` is the event's name (``start`` for `start`)."""
        ...

    def port_call(self, port: str, operation: str) -> AbstractContextManager[None]:
        """Around one call of a port (`port` as in its ``<port>.unavailable`` code, and
        the method called); an exception leaving it is the port failing."""
        ...

    def started(self, flow: str, flow_version: int) -> None:
        """A flow of the declaration `flow` (at `flow_version`) was begun."""
        ...

    def transition(self, transition: Transition) -> None:
        """The request in progress took `transition`."""
        ...

    def answered(self, errors: tuple[str, ...]) -> None:
        """The request in progress ends with these error codes (none when it went well)."""
        ...
