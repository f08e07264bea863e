"""What the API answers: a flow as JSON (its state, errors, allowed events and the inputs of
its screen, Kratos' ``ui.nodes``), and the HTTP status its errors call for.

Everything a screen shows comes from the flow's declaration (`FlowSpec`): the state's label,
each allowed event's button and the fields of its payload (`EventInfo.fields`). No flow's
screens are written here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import cattrs

from regflow.declare import FlowSpec, UiField

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from regflow import FlowError, FlowView, Message

#: The codes that mean "no such thing here" (404) and "not now, at this step" (409).
NOT_FOUND = frozenset({"flow.not_found", "flow.unknown", "event.invalid", "request.not_found"})
CONFLICT = frozenset(
    {"event.not_allowed", "event.no_effect", "flow.conflict", "flow.finished"}
    | {"flow.locked", "flow.expired"}
)
_DETAILS = cattrs.Converter()
_DETAILS.register_unstructure_hook(datetime, datetime.isoformat)
_DETAILS.register_unstructure_hook(date, date.isoformat)


def message(text: Message) -> dict[str, str]:
    return {"vi": text.vi, "en": text.en}


def errors_json(errors: Iterable[FlowError]) -> list[dict[str, Any]]:
    return [
        {
            "code": error.code,
            "field": error.field,
            "message": message(error.message),
            "retryable": error.retryable,
            "retry_at": error.retry_at.isoformat() if error.retry_at else None,
        }
        for error in errors
    ]


def status_of(errors: tuple[FlowError, ...], *, ok: int = 200) -> int:
    """The status of an answer carrying `errors`: 404 for what does not exist, 409 for what
    the step does not allow, 503 for a service that failed (the flow stays where it was and
    the same request may be repeated), 429 for a limit, 422 for the citizen's input."""
    codes = {error.code for error in errors}
    if not errors:
        return ok
    if codes & NOT_FOUND:
        return 404
    if codes & CONFLICT:
        return 409
    if any(error.retryable for error in errors):
        return 503
    if any(error.retry_at for error in errors):
        return 429
    return 422


def node(event: str, field: UiField) -> dict[str, Any]:
    return {
        "event": event,
        "name": field.name,
        "type": field.type,
        "required": field.required,
        "label": message(field.label),
        "constraints": dict(field.constraints),
    }


def nodes(spec: FlowSpec, allowed: frozenset[str]) -> list[dict[str, Any]]:
    """The screen's inputs: per allowed event, in the declaration's order, its payload's
    fields and then its button (``type: submit``)."""
    found: list[dict[str, Any]] = []
    for name, info in spec.events.items():
        if name in allowed:
            found += [node(name, field) for field in info.fields]
            button = UiField(name=name, type="submit", required=False, label=info.label)
            found.append(node(name, button))
    return found


def _screen(view: FlowView) -> dict[str, Any]:
    """The generic screen values a view carries (the OTP screen's countdowns, the phone hint)."""
    moments = {
        "otp_expires_at": view.otp_expires_at,
        "resend_available_at": view.resend_available_at,
    }
    return {
        "phone_hint": view.phone_hint,
        **{name: at.isoformat() if at else None for name, at in moments.items()},
        "otp_sends_left": view.otp_sends_left,
        "otp_attempts_left": view.otp_attempts_left,
    }


def flow_json(view: FlowView, specs: Mapping[tuple[str, int], FlowSpec]) -> dict[str, Any]:
    """A flow the engine answered with; one it could not read is its errors alone."""
    spec = specs.get((view.flow or "", view.flow_version))
    if view.state is None or spec is None:
        return {"errors": errors_json(view.errors)}
    state = spec.state_named(view.state)
    return {
        "id": view.flow_id,
        "flow": spec.name,
        "version": spec.version,
        "state": str(state),
        "state_label": message(spec.states[state].label),
        "finished": spec.states[state].terminal,
        "expires_at": view.expires_at.isoformat() if view.expires_at else None,
        "errors": errors_json(view.errors),
        "allowed_events": sorted(view.allowed_events),
        "ui": {"nodes": nodes(spec, view.allowed_events)},
        "screen": _screen(view),
        "details": _DETAILS.unstructure(view.details),
        "account_id": view.account.account_id if view.account else None,
    }
