"""The outbox worker: deliver due messages, retry failures with backoff, give up after N.

Delivery is at least once. A worker that dies after a send and before recording it leaves
the message leased; once the lease runs out another run sends it again, under the same
idempotency key (`SmsMessage.idempotency_key`), which is what lets the provider drop the
repeat: at least once, plus a key the receiver honours, is effectively once.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import attrs
import structlog

from regflow._outbox import SMS, sms_of
from regflow.adapters.system import SystemClock
from regflow.ports import SmsGateway
from regflow.ports.outbox import OutboxMessage, OutboxQueue

if TYPE_CHECKING:
    from datetime import datetime

    from regflow.ports import Clock
    from regflow.ports.outbox import ClaimedMessage

_log = structlog.get_logger("regflow")
#: The doubling stops here, so a huge attempt count cannot overflow a `timedelta`.
_MAX_DOUBLINGS: Final = 30


@attrs.frozen(kw_only=True)
class Backoff:
    """How long a failed message waits: `first` after the first attempt, doubled after
    each one, at most `cap`; then jittered to between half and all of it, so messages that
    failed together (a provider's outage) do not all come back at once."""

    first: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=15)

    def delay(self, attempts: int, jitter: float) -> timedelta:
        """The wait after `attempts` attempts, `jitter` in [0, 1) placing it in its range."""
        doublings: int = 2 ** min(attempts - 1, _MAX_DOUBLINGS)
        full = min(self.cap, self.first * doublings)
        return full / 2 + full / 2 * jitter


@attrs.frozen
class Delivery:
    """What one run of `deliver_outbox` did: how many messages went out, how many wait for
    a retry, how many it gave up on (dead letters), and how many texts it found too late to
    send (their code had expired: dead letters too, never sent)."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    expired: int = 0


@attrs.frozen(kw_only=True)
class _Worker:
    outbox: OutboxQueue
    sms: SmsGateway | None
    handlers: Mapping[str, Callable[[OutboxMessage], None]]
    max_attempts: int
    backoff: Backoff
    jitter: Callable[[], float]

    def deliver(self, claimed: ClaimedMessage, now: datetime) -> str:
        """Deliver one claimed message and record how it went; the `Delivery` field it counts."""
        message = claimed.message
        fields: dict[str, object] = {
            "key": message.idempotency_key,
            "kind": message.kind,
            "attempts": claimed.attempts,
        }
        try:
            sent = self._send(message, now)
        except Exception as exc:  # noqa: BLE001 - any failure of a send is a failed attempt
            return self._failed(claimed, now, {**fields, "error_type": type(exc).__name__})
        if not sent:
            self.outbox.mark_dead(claimed)
            _log.warning("outbox.expired", **fields)
            return "expired"
        self.outbox.mark_delivered(claimed)
        _log.info("outbox.delivered", **fields)
        return "delivered"

    def _failed(self, claimed: ClaimedMessage, now: datetime, fields: dict[str, object]) -> str:
        """Offer the message again after its backoff, or, after its last attempt, give up."""
        if claimed.attempts >= self.max_attempts:
            self.outbox.mark_dead(claimed)
            _log.error("outbox.dead_letter", **fields)
            return "dead"
        retry_at = now + self.backoff.delay(claimed.attempts, self.jitter())
        self.outbox.mark_failed(claimed, retry_at=retry_at)
        _log.warning("outbox.retry", retry_at=retry_at.isoformat(), **fields)
        return "retried"

    def _send(self, message: OutboxMessage, now: datetime) -> bool:
        """Send the message; False for a text not sent because its time has passed."""
        if message.kind != SMS:
            self.handlers[message.kind](message)
            return True
        if self.sms is None:
            raise LookupError("no SmsGateway to send texts with")
        phone, text, send_by = sms_of(message)
        if now >= send_by:
            return False
        self.sms.send(phone, text)
        return True


def deliver_outbox(  # noqa: PLR0913 - the worker's settings, all keyword-only
    outbox: OutboxQueue,
    sms: SmsGateway | None = None,
    *,
    handlers: Mapping[str, Callable[[OutboxMessage], None]] | None = None,
    clock: Clock | None = None,
    limit: int = 100,
    lease: timedelta = timedelta(minutes=2),
    max_attempts: int = 8,
    backoff: Backoff = Backoff(),
    jitter: Callable[[], float] = random.random,
) -> Delivery:
    """Deliver up to `limit` due messages of `outbox` once each: texts through `sms`, a
    host's kinds through `handlers` (kind → callable). Run it in a loop, or from a
    scheduler (`regflow outbox run`); several workers may run at once.

    A failed message is offered again after `backoff`, and after `max_attempts` attempts
    becomes a dead letter. `lease` must be longer than one run takes: a message whose lease
    runs out may be sent again by another worker (under the same idempotency key). A
    failing outbox store raises, so the scheduler sees it; a failing send never does.
    A `limit` or `max_attempts` below 1, or a `lease` of no time, raises `ValueError`.
    """
    if limit < 1 or max_attempts < 1 or lease <= timedelta(0):
        raise ValueError("deliver_outbox needs limit ≥ 1, max_attempts ≥ 1 and a lease > 0")
    worker = _Worker(
        outbox=outbox,
        sms=sms,
        handlers=handlers or {},
        max_attempts=max_attempts,
        backoff=backoff,
        jitter=jitter,
    )
    now = (clock or SystemClock()).now()
    outcomes = Counter(
        worker.deliver(claimed, now) for claimed in outbox.claim(now, limit=limit, lease=lease)
    )
    return Delivery(**outcomes)
