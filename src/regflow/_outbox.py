"""What the engine puts in the outbox, and how the worker reads it back.

A text is stored whole (its phone, its template and its parameters), so the worker that
sends it needs no configuration of the flow that wrote it, and a template changed between
the save and the send does not change a text already promised. That payload holds the OTP:
it lives in the outbox row alone, is never logged, and is emptied once delivered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from regflow._sms import SmsMessage, SmsTemplate
from regflow.ports.outbox import OutboxMessage

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from regflow.declare import FlowSnapshot

#: The kind of a text message; the worker sends it through the `SmsGateway`.
SMS: Final = "sms"


def sms_payload(phone: str, message: SmsMessage, *, send_by: datetime) -> dict[str, Any]:
    """The JSON-shaped payload of one text, which is not worth sending from `send_by` on (an
    OTP that has expired)."""
    template = message.template
    return {
        "send_by": send_by.astimezone(UTC).isoformat(),
        "phone": phone,
        "template": {
            "id": template.id,
            "brandname": template.brandname,
            "text": template.text,
            "params": dict(template.params),
        },
        "params": dict(message.params),
    }


def sms_of(message: OutboxMessage) -> tuple[str, SmsMessage, datetime]:
    """The phone, text (carrying its idempotency key) and `send_by` of a stored text; a
    payload that is not one raises (`KeyError`, `TypeError`, `ValueError`)."""
    payload = message.payload
    template = SmsTemplate(**payload["template"])
    text = SmsMessage(template, payload["params"], idempotency_key=message.idempotency_key)
    return str(payload["phone"]), text, datetime.fromisoformat(payload["send_by"])


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
