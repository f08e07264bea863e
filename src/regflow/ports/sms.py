"""How the OTP reaches the citizen's phone: a brandname text on an approved template."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from regflow._sms import SmsMessage


class SmsGateway(Protocol):
    """Sends one templated text; raising means it was not sent (`sms.unavailable`)."""

    def send(self, phone: str, message: SmsMessage) -> None:
        """Send `message` to `phone` (E.164, e.g. ``+84912345678``).

        A brandname provider takes ``message.template.id``, ``message.template.brandname``
        and ``message.params``; one that takes plain text gets ``message.text``. Never log
        the parameters or the text: they hold the OTP.
        """
        ...


class AsyncSmsGateway(Protocol):
    """`SmsGateway` for `AsyncEngine`: the same method and guarantees, awaited."""

    async def send(self, phone: str, message: SmsMessage) -> None: ...
