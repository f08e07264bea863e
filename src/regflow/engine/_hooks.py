"""The engine's listeners: what it tells a host once a step is done (docs/hooks.md).

`Engine` builds a `Hooks` only when it is given listeners, so an engine without any pays
one `if` per transition. The events are built from what the engine already holds after the
save (the edge, the saved snapshot, the step's notices); a listener that raises is
reported to the engine, which logs it, and neither the answer nor the save changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from regflow._bridge import settle
from regflow._masking import mask_id
from regflow.ports.listener import FlowEnded, FlowEvent, Transitioned

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from regflow._errors import FlowError
    from regflow.declare._snapshot import FlowSnapshot
    from regflow.declare._step import Step
    from regflow.engine._compile import CompiledFlow, Edge
    from regflow.ports.listener import FlowListener


@attrs.frozen
class ListenerFailure:
    """A listener that raised on an event: the names the log line ``flow.listener_failed``
    gives (types only: an exception's message could carry personal data)."""

    listener: str
    hook: str
    error_type: str


class Hooks:
    """The listeners of one engine, each told every event of every step, in order."""

    def __init__(self, listeners: Sequence[FlowListener]) -> None:
        self._listeners = tuple(listeners)

    def publish(self, events: Iterable[FlowEvent]) -> list[ListenerFailure]:
        """Tell every listener each event (an async one awaited, under `AsyncEngine`); the
        failures, for the engine to log. One listener's failure skips none of the others."""
        failures = []
        for event in events:
            for listener in self._listeners:
                try:
                    settle(listener.on_event(event))
                except Exception as exc:  # noqa: BLE001 - a host's reaction cannot undo the step
                    failures.append(
                        ListenerFailure(
                            type(listener).__name__, type(event).__name__, type(exc).__name__
                        )
                    )
        return failures


def step_events(
    compiled: CompiledFlow,
    step: Step,
    edge: Edge,
    snapshot: FlowSnapshot,
    errors: Sequence[FlowError],
) -> list[FlowEvent]:
    """The events of one step taken and saved: its transition, the accounts its actions
    announced, and the flow's end when the step finished it."""
    subject = compiled.spec.subject(snapshot.context)
    common = FlowEvent(
        flow=snapshot.flow,
        flow_version=snapshot.flow_version,
        flow_id=snapshot.flow_id,
        citizen=mask_id(subject) if subject else None,
        at=step.now,
    )
    shared = attrs.asdict(common, recurse=False)
    events: list[FlowEvent] = [
        Transitioned(
            **shared,
            trigger=edge.trigger,
            source=edge.source.value,
            dest=str(snapshot.state),
            rule=edge.rule,
            errors=tuple(error.code for error in errors),
        ),
        *step.notices,
    ]
    # `_apply` answers an event on a finished flow before any edge: a step that leaves
    # the flow in a terminal state is the one that moved it there.
    ended = compiled.terminal.get(snapshot.state)  # type: ignore[call-overload]
    if ended is not None:
        events.append(FlowEnded(**shared, state=str(snapshot.state), outcome=ended))
    return events
