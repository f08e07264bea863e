"""What the engine puts in the outbox, and how the worker reads it back.

A text is stored whole (its phone, its template and its parameters), so the worker that
sends it needs no configuration of the flow that wrote it, and a template changed between
the save and the send does not change a text already promised. That payload holds the OTP:
it lives in the outbox row alone, is never logged, and is emptied once delivered.

A durable listener event (`Engine(durable_events=…)`) is stored as its fields, JSON-shaped
by a converter of this module's own; it holds what the event holds (the citizen masked, no
secret), and `event_of` reads it back as the typed event for the host's handler.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from cattrs.preconf.json import make_converter

from regflow._sms import SmsMessage, SmsTemplate
from regflow.ports.listener import AccountCreated, FlowEnded, FlowEvent, Transitioned
from regflow.ports.outbox import OutboxMessage

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from regflow.declare import FlowSnapshot

#: The kind of a text message; the worker sends it through the `SmsGateway`.
SMS: Final = "sms"
#: The kind of each event a host may make durable; the worker hands it to its handler.
EVENT_KINDS: Final[Mapping[type[FlowEvent], str]] = MappingProxyType(
    {Transitioned: "transitioned", AccountCreated: "account_created", FlowEnded: "flow_ended"}
)
_EVENTS: Final = {kind: event for event, kind in EVENT_KINDS.items()}
#: Datetimes as ISO 8601 text, tuples as lists: what a JSON column stores and gives back.
_converter = make_converter()


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


def durable_kinds(
    events: Collection[type[FlowEvent]], *, outbox: object | None
) -> Mapping[type[FlowEvent], str]:
    """The outbox kind of each event type a host makes durable. Without an outbox there is
    no transaction to record them in, and a type that is not a listener event has no kind:
    both raise `ValueError` when the engine is built, not at the first step."""
    if events and outbox is None:
        raise ValueError("durable_events are recorded in an outbox: give Engine(outbox=…)")
    for event in events:
        if event not in EVENT_KINDS:
            known = ", ".join(kind.__name__ for kind in EVENT_KINDS)
            raise ValueError(f"durable_events takes {known}, not {event!r}")
    return {event: EVENT_KINDS[event] for event in events}


def event_effects(
    events: Iterable[FlowEvent], kinds: Mapping[type[FlowEvent], str]
) -> list[tuple[str, Mapping[str, Any]]]:
    """The outbox effects of a step's events whose type is durable, in their order."""
    return [
        (kinds[type(event)], _converter.unstructure(event))
        for event in events
        if type(event) in kinds
    ]


def event_of(message: OutboxMessage) -> FlowEvent:
    """The listener event a durable message (kind ``account_created``, ``flow_ended`` or
    ``transitioned``) was recorded from, for a handler of `regflow.deliver_outbox`; a
    message of another kind, or a payload that is not one, raises (`KeyError`,
    `cattrs.BaseValidationError`), which the worker counts as a failed attempt."""
    event: FlowEvent = _converter.structure(dict(message.payload), _EVENTS[message.kind])
    return event
