"""Development-only adapters: an SMS inbox a person can read, and a clock a test can move.

Neither belongs in production: the inbox shows every OTP it was asked to send, and the
clock can be pushed forward to try expiry and the resend wait without waiting.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs

from regflow import SmsMessage


@attrs.frozen
class InboxMessage:
    """One text message the portal would have sent: the template, its parameters, the time."""

    phone: str
    message: SmsMessage
    sent_at: datetime

    @property
    def text(self) -> str:
        return self.message.text


class DevSmsInbox:
    """`SmsGateway` that keeps messages for the development inbox page instead of sending them."""

    def __init__(self, clock: AdjustableClock) -> None:
        self._clock = clock
        self._messages: list[InboxMessage] = []
        self._lock = threading.Lock()

    def send(self, phone: str, message: SmsMessage) -> None:
        with self._lock:
            self._messages.append(InboxMessage(phone, message, self._clock.now()))

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
