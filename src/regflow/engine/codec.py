"""Snapshots as compact JSON, for every store that keeps text (SQLite, PostgreSQL, Redis…).

The codec knows no flow: it writes a snapshot's generic part and its context as cattrs
unstructures it, and a store gives back the context as that JSON-ready mapping; the engine
then structures it with the flow's declaration (`typed`). The stored document carries its
`schema`; `loads` upgrades an older shape in one place, `_UPGRADES`, so a deploy never
strands the flows in flight, and `dumps(…, schema=N)` writes an older shape (`_DOWNGRADES`),
so servers of an older release can read what a newer one writes until every server is
upgraded (docs/versioning.md).

Times are compact: a whole second in UTC is an integer of seconds since the epoch (JWT's
NumericDate, RFC 7519 §2); the SQL stores keep readable times in their own columns.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from cattrs.preconf.json import make_converter

from regflow.declare._snapshot import SCHEMA, FlowSnapshot

if TYPE_CHECKING:
    from collections.abc import Callable

    from regflow.declare._spec import FlowSpec

__all__ = ["SCHEMA", "dumps", "from_document", "loads", "plain", "to_document", "typed"]

_converter = make_converter(omit_if_default=True)

# --- times: a whole second in UTC as an integer, any other time as RFC 3339 text ------------

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)


def _time_to_json(moment: datetime) -> int | str:
    """The engine's times (whole seconds, UTC) as NumericDate; a host's finer time or other
    zone as text, so that no time loses anything on its way through the store."""
    if moment.microsecond == 0 and moment.tzinfo is UTC:
        return (moment - _EPOCH) // _SECOND
    return moment.isoformat()


def _time_from_json(value: int | str, _: type[datetime]) -> datetime:
    if isinstance(value, int):
        return _EPOCH + value * _SECOND
    return datetime.fromisoformat(value)


_converter.register_unstructure_hook(datetime, _time_to_json)
_converter.register_structure_hook(datetime, _time_from_json)

# --- the document -----------------------------------------------------------------------------

_GENERIC: Final = ("flow_id", "flow", "version", "state", "created_at", "expires_at")


def to_document(snapshot: FlowSnapshot, *, schema: int = SCHEMA) -> dict[str, Any]:
    """The snapshot as JSON-ready values (for JSON columns), marked with the schema whose
    shape this codec writes, whatever `schema` the snapshot object carries: the current
    one, or the older `schema` asked for (a ValueError when that shape cannot hold it)."""
    document = _current_document(snapshot)
    for older in range(SCHEMA, schema, -1):
        document = _DOWNGRADES[older](document)
    return document


def _current_document(snapshot: FlowSnapshot) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "flow_id": snapshot.flow_id,
        "flow": snapshot.flow,
        "version": snapshot.version,
        "created_at": _time_to_json(snapshot.created_at),
        "expires_at": _time_to_json(snapshot.expires_at),
    }
    if snapshot.flow_version != 1:
        document["flow_version"] = snapshot.flow_version
    updated_at = snapshot.updated_at
    if updated_at != snapshot.created_at:  # unsaid, it is when the flow began
        document["updated_at"] = None if updated_at is None else _time_to_json(updated_at)
    if snapshot.path:
        document["path"] = [str(state) for state in snapshot.path]
    if not snapshot.path or snapshot.path[-1] != snapshot.state:
        document["state"] = str(snapshot.state)  # else the path says it: its last state
    document["context"] = plain(snapshot.context)
    return document


def plain(context: object) -> dict[str, Any]:
    """A context as the JSON-ready mapping a store keeps (a mapping given back is as it was)."""
    if isinstance(context, dict):
        return context
    unstructured: dict[str, Any] = _converter.unstructure(context)
    return unstructured


def dumps(snapshot: FlowSnapshot, *, schema: int = SCHEMA) -> str:
    document = to_document(snapshot, schema=schema)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> FlowSnapshot:
    document: dict[str, Any] = json.loads(text)
    return from_document(document)


def from_document(document: dict[str, Any]) -> FlowSnapshot:
    """A stored document as a snapshot whose state is a name and whose context is the
    JSON-ready mapping stored (`typed` structures both), upgraded to the current schema."""
    schema = document.get("schema", 1)
    while schema < SCHEMA:
        document = _UPGRADES[schema](document)
        schema += 1
    created_at = _time_from_json(document["created_at"], datetime)
    updated_at = document.get("updated_at", document["created_at"])
    return FlowSnapshot(
        flow_id=document["flow_id"],
        flow=document["flow"],
        flow_version=document.get("flow_version", 1),
        version=document["version"],
        state=document.get("state") or document["path"][-1],
        created_at=created_at,
        expires_at=_time_from_json(document["expires_at"], datetime),
        updated_at=None if updated_at is None else _time_from_json(updated_at, datetime),
        path=tuple(document.get("path", ())),
        context=document["context"],
    )


def typed(snapshot: FlowSnapshot, spec: FlowSpec) -> FlowSnapshot:
    """`snapshot` with its state and path as `spec`'s states and its context structured
    as `spec.context`."""
    context, state = snapshot.context, spec.state_named(snapshot.state)
    if not isinstance(context, spec.context):
        context = _converter.structure(context, spec.context)
    return FlowSnapshot(
        flow_id=snapshot.flow_id,
        flow=snapshot.flow,
        flow_version=snapshot.flow_version,
        version=snapshot.version,
        state=state,
        created_at=snapshot.created_at,
        expires_at=snapshot.expires_at,
        updated_at=snapshot.updated_at,
        path=tuple(spec.state_named(state) for state in snapshot.path),
        context=context,
        finished=state in spec.terminal,
    )


# --- older schemas ----------------------------------------------------------------------------


def _add_updated_at(document: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 added `updated_at`; a schema-1 flow was last known to change when it began."""
    return {**document, "updated_at": document["created_at"]}


def _hash_in_base64url(document: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 keeps the OTP hash in base64url: a flow's hex hash would never match again.

    Times need no upgrade (text still loads), nor does anything schema 3 merely leaves out.
    """
    otp = document.get("otp")
    if otp is None:
        return document
    digest = bytes.fromhex(otp["code_hash"])
    code_hash = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return {**document, "otp": {**otp, "code_hash": code_hash}}


#: Schema 3 held only the BHXH registration, its fields beside the snapshot's own.
_SCHEMA_3_FLOW: Final = "bhxh_registration"
_SCHEMA_3_INITIAL: Final = "choosing_method"
_SCHEMA_3_TIMES: Final = ("updated_at",)


def _into_context(document: dict[str, Any]) -> dict[str, Any]:
    """Schema 4 runs any flow: the registration's own fields move into its context, and the
    state the path implied (schema 3 left it out) is written, and the account the flow made
    is kept as its id and creation time."""
    generic: dict[str, Any] = {
        key: document[key] for key in (*_GENERIC, *_SCHEMA_3_TIMES) if key in document
    }
    path = document.get("path") or []
    state = document.get("state") or (path[-1] if path else _SCHEMA_3_INITIAL)
    generic.update(flow=_SCHEMA_3_FLOW, state=state, path=path)
    context = {
        key: value
        for key, value in document.items()
        if key not in generic and key not in {"schema", "path", "state"}
    }
    account = context.pop("account", None)
    if account is not None:  # schema 3 left out its creation time when it was the last save's
        context["account_id"] = account["account_id"]
        if "created_at" in account:
            context["account_created_at"] = account["created_at"]
    if context.get("decoy_phone") is not None:
        context["decoy"] = True
    return {**generic, "schema": 4, "context": context}


# --- writing an older schema, while servers that read only it still run ----------------------


def _out_of_context(document: dict[str, Any]) -> dict[str, Any]:
    """Schema 3's shape of a schema-4 document: `_into_context` undone. Schema 3 holds the
    BHXH registration's version 1 alone, in a state its path (or its start) implies."""
    path, state = document.get("path", []), document.get("state")
    if document["flow"] != _SCHEMA_3_FLOW or document.get("flow_version", 1) != 1:
        raise ValueError("schema 3 holds only version 1 of the BHXH registration")
    if state not in (None, _SCHEMA_3_INITIAL) or (state == _SCHEMA_3_INITIAL and path):
        raise ValueError(f"schema 3 cannot say that a flow is back in {state!r}")
    context = dict(document["context"])
    context.pop("decoy", None)
    account_id, made = context.pop("account_id", None), context.pop("account_created_at", None)
    if account_id is not None:
        context["account"] = {"account_id": account_id} | ({"created_at": made} if made else {})
    kept = (key for key in (*_GENERIC, *_SCHEMA_3_TIMES) if key not in {"flow", "state"})
    generic = {key: document[key] for key in kept if key in document}
    return {**generic, **context, **({"path": path} if path else {}), "schema": 3}


def _hash_in_hex(document: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 kept the OTP hash in hex: `_hash_in_base64url` undone."""
    otp = document.get("otp")
    if otp is None:
        return {**document, "schema": 2}
    digest = base64.urlsafe_b64decode(otp["code_hash"] + "=" * (-len(otp["code_hash"]) % 4))
    return {**document, "otp": {**otp, "code_hash": digest.hex()}, "schema": 2}


def _without_updated_at(document: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 had no `updated_at` (its upgrade takes the flow's start for it)."""
    return {key: value for key, value in document.items() if key != "updated_at"} | {"schema": 1}


#: schema N → the function that turns a document of schema N into one of schema N - 1.
_DOWNGRADES: Final[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    4: _out_of_context,
    3: _hash_in_hex,
    2: _without_updated_at,
}

#: schema N → the function that turns a document of schema N into one of schema N + 1.
_UPGRADES: Final[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    1: _add_updated_at,
    2: _hash_in_base64url,
    3: _into_context,
}
