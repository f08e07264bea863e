"""Snapshots as compact JSON, for every store that keeps text (SQLite, PostgreSQL, Redis…).

The stored document carries the snapshot's `schema`; `loads` upgrades an older shape in
one place, `_UPGRADES`, so a deploy never strands the flows in flight.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from cattrs.preconf.json import make_converter

from regflow._domain import FlowSnapshot

if TYPE_CHECKING:
    from collections.abc import Callable

SCHEMA: Final = 2

_converter = make_converter(omit_if_default=True)


def _add_updated_at(document: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 added `updated_at`; a schema-1 flow was last known to change when it began."""
    return {**document, "updated_at": document["created_at"]}


#: schema N → the function that turns a document of schema N into one of schema N + 1.
_UPGRADES: Final[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    1: _add_updated_at,
}


def to_document(snapshot: FlowSnapshot) -> dict[str, Any]:
    """The snapshot as JSON-ready values, always with its `schema` (for JSON columns)."""
    document: dict[str, Any] = _converter.unstructure(snapshot)
    document["schema"] = snapshot.schema
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


# --- a completed flow's account, without what the document already says -------------------

_CITIZEN_ECHOES: Final = ("id_number", "bhxh_number", "full_name", "date_of_birth", "phone")
_ABSENT: Final = object()


def _account_echoes(document: dict[str, Any]) -> dict[str, Any]:
    """The account fields that a snapshot's document already holds elsewhere, by name."""
    citizen = document.get("citizen") or {}
    echoes = {key: citizen.get(key, _ABSENT) for key in _CITIZEN_ECHOES}
    echoes.update(flow_id=document["flow_id"], email=document.get("email"))
    return {key: value for key, value in echoes.items() if value is not _ABSENT}


_unstructure_snapshot: Final = _converter.get_unstructure_hook(FlowSnapshot)
_structure_snapshot: Final = _converter.get_structure_hook(FlowSnapshot)


def _without_echoes(snapshot: FlowSnapshot) -> dict[str, Any]:
    """Leave out the account fields equal to the citizen's and the flow's: a third smaller."""
    document: dict[str, Any] = _unstructure_snapshot(snapshot)
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
    account = document.get("account")
    if account is not None:
        document = {**document, "account": {**_account_echoes(document), **account}}
    snapshot: FlowSnapshot = _structure_snapshot(document, cls)
    return snapshot


_converter.register_unstructure_hook(FlowSnapshot, _without_echoes)
_converter.register_structure_hook(FlowSnapshot, _with_echoes)
