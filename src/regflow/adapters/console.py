"""An SMS gateway that writes messages to a stream: the demo's "phone"."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from regflow._masking import mask_phone

if TYPE_CHECKING:
    from regflow._sms import SmsMessage


class ConsoleSmsGateway:
    """`SmsGateway` that prints each message's text as the phone would show it; for demos
    and development only (the stream is the citizen's screen, not a log)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, phone: str, message: SmsMessage) -> None:
        stream = self._stream or sys.stdout
        print(f"\n  📱 SMS → {mask_phone(phone)}: {message.text}\n", file=stream, flush=True)
