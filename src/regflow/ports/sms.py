"""How the OTP reaches the citizen's phone."""

from __future__ import annotations

from typing import Protocol


class SmsGateway(Protocol):
    """Sends one text message; raising means it was not sent (`sms.unavailable`)."""

    def send(self, phone: str, text: str) -> None:
        """Send `text` to `phone` (E.164, e.g. ``+84912345678``)."""
        ...
