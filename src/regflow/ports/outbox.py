"""Side effects recorded with the save that causes them, and delivered later by a worker.

The store side saves a flow's next snapshot and its messages in one transaction, so a crash
either keeps both or neither; the worker side hands due messages to one worker at a time
(a lease), and records what became of each. Delivery is at least once: a worker that dies
after sending but before `mark_delivered` leaves the message to be sent again once its
lease runs out, under the same `idempotency_key`, which the receiver uses to drop the
repeat (docs/outbox.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, timedelta

    from regflow.declare import FlowSnapshot


def _frozen(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(values))


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """One side effect to deliver: its `kind` (``"sms"``, or a host's) and its `payload`.

    `idempotency_key` is ``flow_id:version:n``, the n-th message of that saved version: the
    same on every attempt, so a receiver can tell a repeat. The payload is JSON-shaped data
    kept only in the outbox row. A text's payload holds the OTP, which must be sent: it is
    left out of the repr, never logged, and the row's payload is emptied once delivered.
    """

    idempotency_key: str
    kind: str
    payload: Mapping[str, Any] = attrs.field(converter=_frozen, repr=False)


@attrs.frozen(kw_only=True)
class ClaimedMessage:
    """A message leased to one worker: `attempts` counts this one; `lease` names the claim,
    so a worker whose lease ran out (and was claimed again) cannot record its failure."""

    message: OutboxMessage
    attempts: int
    lease: str


class OutboxStore(Protocol):
    """The store side: a flow's save and the messages it causes, in one transaction.

    `save_with` has `FlowStore.save`'s guarantees (it raises `StaleFlowError` when the
    stored version is not the one before, and then stores no message either).
    """

    def save_with(self, snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]) -> None:
        """Store `snapshot` and enqueue `messages`, both or neither."""
        ...


class AsyncOutboxStore(Protocol):
    """`OutboxStore` for `AsyncEngine`: the same method and guarantees, awaited."""

    async def save_with(
        self, snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]
    ) -> None: ...


class OutboxQueue(Protocol):
    """The worker side: claim due messages, then record each one's fate."""

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[ClaimedMessage]:
        """Lease up to `limit` due messages (pending, due by `now`, no live lease) until
        ``now + lease``; two workers never hold one message's lease at once."""
        ...

    def mark_delivered(self, claimed: ClaimedMessage) -> None:
        """The message went out: never deliver it again, and drop its payload."""
        ...

    def mark_failed(self, claimed: ClaimedMessage, *, retry_at: datetime) -> None:
        """This attempt failed: offer the message again from `retry_at` (if still leased)."""
        ...

    def mark_dead(self, claimed: ClaimedMessage) -> None:
        """Give up on the message (a dead letter, for an operator): it is not retried."""
        ...


class Outbox(OutboxStore, OutboxQueue, Protocol):
    """Both sides of one database's outbox (`regflow.adapters.sqlite.SqliteOutbox`, …)."""
