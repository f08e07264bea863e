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
