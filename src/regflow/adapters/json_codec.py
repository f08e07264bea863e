"""Snapshots as compact JSON, for every store that keeps text (SQLite, PostgreSQL, Redis…).

The stored document carries the snapshot's `schema`; `loads` upgrades an older shape in
one place, `_UPGRADES`, so a deploy never strands the flows in flight.

Schema 3 keeps a flow in flight under the 512 bytes of issue #8: a whole second in UTC is an
integer of seconds since the epoch (JWT's NumericDate, RFC 7519 §2), the OTP hash is base64url,
and nothing is written twice: not the state the path implies, not an account's fields that
the flow already holds. The SQL stores keep readable times in their own columns.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from cattrs.preconf.json import make_converter

from regflow._domain import BHXH_VERIFICATION_LEVEL, FlowSnapshot
from regflow.machine import INITIAL

if TYPE_CHECKING:
    from collections.abc import Callable

SCHEMA: Final = 3

_converter = make_converter(omit_if_default=True)


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


#: schema N → the function that turns a document of schema N into one of schema N + 1.
_UPGRADES: Final[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    1: _add_updated_at,
    2: _hash_in_base64url,
}

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


def to_document(snapshot: FlowSnapshot) -> dict[str, Any]:
    """The snapshot as JSON-ready values (for JSON columns), marked with the schema whose
    shape this codec writes, whatever `schema` the snapshot object carries."""
    document: dict[str, Any] = _converter.unstructure(snapshot)
    document["schema"] = SCHEMA
    return document


def dumps(snapshot: FlowSnapshot) -> str:
    return json.dumps(to_document(snapshot), ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> FlowSnapshot:
    document: dict[str, Any] = json.loads(text)
    return from_document(document)


def from_document(document: dict[str, Any]) -> FlowSnapshot:
    """Structure a stored document, upgrading it to the current schema first."""
    schema = document.get("schema", 1)
    while schema < SCHEMA:
        document = _UPGRADES[schema](document)
        schema += 1
    document["schema"] = SCHEMA
    return _converter.structure(document, FlowSnapshot)


# --- what the document already says: the state its path implies, a completed account ------

_CITIZEN_ECHOES: Final = (
    "id_number",
    "bhxh_number",
    "full_name",
    "date_of_birth",
    "phone",
    "former_id_numbers",
)
_ABSENT: Final = object()
#: The verification level an account made by a method has (`Account.for_citizen`).
_LEVEL_BY_METHOD: Final = {"bhxh": BHXH_VERIFICATION_LEVEL}


def _account_echoes(document: dict[str, Any]) -> dict[str, Any]:
    """The account fields that a snapshot's document already holds elsewhere, by name."""
    citizen = document.get("citizen") or {}
    echoes = {key: citizen.get(key, _ABSENT) for key in _CITIZEN_ECHOES}
    echoes.update(
        flow_id=document["flow_id"],
        email=document.get("email"),
        created_at=document.get("updated_at", _ABSENT),  # made in the flow's last step
        source=document.get("method", _ABSENT),  # by the method the flow was registering with
        verification_level=_LEVEL_BY_METHOD.get(document.get("method", ""), _ABSENT),
    )
    return {key: value for key, value in echoes.items() if value is not _ABSENT}


def _implied_state(document: dict[str, Any]) -> str:
    """The state a flow stands in unless its host said otherwise: the last one it entered."""
    path = document.get("path")
    return str(path[-1]) if path else INITIAL.value


_unstructure_snapshot: Final = _converter.get_unstructure_hook(FlowSnapshot)
_structure_snapshot: Final = _converter.get_structure_hook(FlowSnapshot)


def _without_echoes(snapshot: FlowSnapshot) -> dict[str, Any]:
    """Leave out the state the path implies, and the account fields equal to the citizen's
    and the flow's (a third of a completed flow's document)."""
    document: dict[str, Any] = _unstructure_snapshot(snapshot)
    if document["state"] == _implied_state(document):
        del document["state"]
    account = document.get("account")
    if account is not None:
        echoes = _account_echoes(document)
        document["account"] = {
            key: value
            for key, value in account.items()
            if key not in echoes or echoes[key] != value
        }
    return document


def _with_echoes(document: dict[str, Any], cls: type[FlowSnapshot]) -> FlowSnapshot:
    document = {"state": _implied_state(document), **document}
    account = document.get("account")
    if account is not None:
        document["account"] = {**_account_echoes(document), **account}
    snapshot: FlowSnapshot = _structure_snapshot(document, cls)
    return snapshot


_converter.register_unstructure_hook(FlowSnapshot, _without_echoes)
_converter.register_structure_hook(FlowSnapshot, _with_echoes)
