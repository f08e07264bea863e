"""An SMS gateway that writes messages to a stream: the demo's "phone"."""

from __future__ import annotations

import sys
from typing import TextIO

from regflow._masking import mask_phone


class ConsoleSmsGateway:
    """`SmsGateway` that prints each message; for demos and development only."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, phone: str, text: str) -> None:
        stream = self._stream or sys.stdout
        print(f"\n  📱 SMS → {mask_phone(phone)}: {text}\n", file=stream, flush=True)
