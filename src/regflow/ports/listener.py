"""What a host hears of a flow after each step is saved: typed events, to a `FlowListener`.

A listener *reacts*: it is told what happened once the flow's save has succeeded, and it
cannot change the path, the answer or the save (a host hook that may refuse a step is a
veto, `regflow.ports.veto`). The engine gives every listener each event of a step in the
order they happened: the `Transitioned` of the edge taken, any `AccountCreated` its actions
made, then `FlowEnded` when the step left the flow in a terminal state.

No event carries a password, an OTP or a whole personal number: `citizen` is the flow's
subject (an ID number) masked as the logs show it (`regflow._masking.mask_id`), or None.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    from collections.abc import Awaitable


@attrs.frozen(kw_only=True)
class FlowEvent:
    """What every event names: the flow (declaration name and version, id), whom it is
    about (masked), and when the step happened (the engine's clock)."""

    flow: str
    flow_version: int
    flow_id: str
    citizen: str | None
    at: datetime


@attrs.frozen(kw_only=True)
class Transitioned(FlowEvent):
    """One edge the engine took, as its audit line ``flow.transition`` names it: `trigger`
    the citizen's event, `source` and `dest` the states before and after (equal for a
    refusal), `rule` the guard that decided (None for the "otherwise" edge), `errors` the
    codes the citizen was given."""

    trigger: str
    source: str
    dest: str
    rule: str | None
    errors: tuple[str, ...]


@attrs.frozen(kw_only=True)
class FlowEnded(FlowEvent):
    """The step left the flow in a terminal `state`; `outcome` is the code an event on the
    finished flow answers (``flow.finished``, ``flow.locked``, ``flow.expired``)."""

    state: str
    outcome: str


@attrs.frozen(kw_only=True)
class AccountCreated(FlowEvent):
    """A flow's step made (or, after a lost save, finished making) the account `account_id`."""

    account_id: str


class FlowListener(Protocol):
    """A host's reaction to the flows' steps (``Engine(listeners=[…])``).

    `on_event` runs after the step's save, in the request that made it: keep it short
    (record, enqueue), since the citizen waits for it. It may raise: the engine logs
    ``flow.listener_failed`` and answers as it would have. It may not expect to run again
    for the same step (a crash after the save loses the event) nor to change the flow. Under
    `AsyncEngine` it may be a coroutine function; the sync `Engine` refuses one when built.
    """

    def on_event(self, event: FlowEvent) -> Awaitable[None] | None: ...
