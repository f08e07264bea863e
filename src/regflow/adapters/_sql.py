"""The statements both SQL stores run, written once in psycopg's ``%(name)s`` style.

SQLite runs them through `sqlite_style`. Each is a single statement, so each is atomic on
its own: the version check of a flow is the ``WHERE`` of its ``UPDATE``, and the unique
numbers of an account are the table's constraints.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import attrs

from regflow._domain import Account

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from regflow._domain import FlowSnapshot

ACCOUNT_COLUMNS: Final = [field.name for field in attrs.fields(Account)]
INSERT_ACCOUNT: Final = (
    f"INSERT INTO regflow_accounts ({', '.join(ACCOUNT_COLUMNS)}, password_hash) "  # noqa: S608 - column names are the Account class's own
    f"VALUES ({', '.join(f'%({name})s' for name in ACCOUNT_COLUMNS)}, %(password_hash)s)"
)
#: The account of the ID number if there is one, else the account of the BHXH number.
FIND_ACCOUNT: Final = (
    f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM regflow_accounts "  # noqa: S608 - as above
    "WHERE id_number = %(id)s OR bhxh_number = %(bhxh)s "
    "ORDER BY id_number = %(id)s DESC LIMIT 1"
)
LOAD_FLOW: Final = "SELECT snapshot FROM regflow_flows WHERE flow_id = %(flow_id)s"
INSERT_FLOW: Final = """\
INSERT INTO regflow_flows (flow_id, version, state, expires_at, updated_at, snapshot)
VALUES (%(flow_id)s, %(version)s, %(state)s, %(expires_at)s, %(updated_at)s, %(snapshot)s)
ON CONFLICT (flow_id) DO NOTHING"""
UPDATE_FLOW: Final = """\
UPDATE regflow_flows
SET version = %(version)s, state = %(state)s, expires_at = %(expires_at)s,
    updated_at = %(updated_at)s, snapshot = %(snapshot)s
WHERE flow_id = %(flow_id)s AND version = %(version)s - 1"""
PURGE_FLOWS: Final = "DELETE FROM regflow_flows WHERE expires_at <= %(now)s"

_PARAMETER: Final = re.compile(r"%\((\w+)\)s")


def sqlite_style(statement: str) -> str:
    """The statement with SQLite's ``:name`` parameters."""
    return _PARAMETER.sub(r":\1", statement)


def save_flow(snapshot: FlowSnapshot) -> str:
    """A first save inserts, a later one updates the version before it; both touch one row."""
    return INSERT_FLOW if snapshot.version == 1 else UPDATE_FLOW


def flow_row(
    snapshot: FlowSnapshot, moment: Callable[[datetime | None], object], document: object
) -> dict[str, object]:
    """The parameters of `save_flow`, with times and the document as the database takes them."""
    return {
        "flow_id": snapshot.flow_id,
        "version": snapshot.version,
        "state": snapshot.state.value,
        "expires_at": moment(snapshot.expires_at),
        "updated_at": moment(snapshot.updated_at),
        "snapshot": document,
    }
