"""Development-only adapters: an SMS inbox a person can read, and a clock a test can move.

Neither belongs in production: the inbox shows every OTP it was asked to send, and the
clock can be pushed forward to try expiry and the resend wait without waiting.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs


@attrs.frozen
class InboxMessage:
    """One text message the portal would have sent."""

    phone: str
    text: str
    sent_at: datetime


class DevSmsInbox:
    """`SmsGateway` that keeps messages for the development inbox page instead of sending them."""

    def __init__(self, clock: AdjustableClock) -> None:
        self._clock = clock
        self._messages: list[InboxMessage] = []
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        with self._lock:
            self._messages.append(InboxMessage(phone, text, self._clock.now()))

    def messages(self) -> tuple[InboxMessage, ...]:
        """Every message, newest first (the way a phone lists them)."""
        with self._lock:
            return tuple(reversed(self._messages))


class AdjustableClock:
    """`Clock` on the system time plus an offset that only ever grows, so time still flows."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += delta
