"""What the engine puts in the outbox, and how the worker reads it back.

A text is stored whole (its phone, its template and its parameters), so the worker that
sends it needs no configuration of the flow that wrote it, and a template changed between
the save and the send does not change a text already promised. That payload holds the OTP:
it lives in the outbox row alone, is never logged, and is emptied once delivered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from regflow._sms import SmsMessage, SmsTemplate
from regflow.ports.outbox import OutboxMessage

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from regflow.declare import FlowSnapshot

#: The kind of a text message; the worker sends it through the `SmsGateway`.
SMS: Final = "sms"


def sms_payload(phone: str, message: SmsMessage) -> dict[str, Any]:
    """The JSON-shaped payload of one text."""
    template = message.template
    return {
        "phone": phone,
        "template": {
            "id": template.id,
            "brandname": template.brandname,
            "text": template.text,
            "params": dict(template.params),
        },
        "params": dict(message.params),
    }


def sms_of(message: OutboxMessage) -> tuple[str, SmsMessage]:
    """The phone and text of a stored text, carrying its idempotency key; a payload that is
    not one raises (`KeyError`, `TypeError`, `ValueError`), a failed attempt."""
    payload = message.payload
    template = SmsTemplate(**payload["template"])
    text = SmsMessage(template, payload["params"], idempotency_key=message.idempotency_key)
    return str(payload["phone"]), text


def keyed(
    snapshot: FlowSnapshot, effects: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[OutboxMessage]:
    """The messages of one saved version, keyed ``flow_id:version:n`` in their order."""
    return [
        OutboxMessage(
            idempotency_key=f"{snapshot.flow_id}:{snapshot.version}:{number}",
            kind=kind,
            payload=payload,
        )
        for number, (kind, payload) in enumerate(effects)
    ]
