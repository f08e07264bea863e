"""The statements both SQL stores run, written once in psycopg's ``%(name)s`` style.

SQLite runs them through `sqlite_style`. A flow's save is a single statement, atomic on its
own: the version check is the ``WHERE`` of its ``UPDATE``. An account is one row in
`regflow_accounts` and one per ID number in `regflow_id_numbers`, written in one transaction;
its unique numbers are the tables' constraints.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Final

import attrs

from regflow._domain import Account
from regflow.ports.outbox import ClaimedMessage, OutboxMessage

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from regflow.declare import FlowSnapshot

#: The columns of `regflow_accounts`: the account's own fields. Its former ID numbers live
#: in `regflow_id_numbers`, beside its current one.
ACCOUNT_COLUMNS: Final = [
    field.name for field in attrs.fields(Account) if field.name != "former_id_numbers"
]
INSERT_ACCOUNT: Final = (
    f"INSERT INTO regflow_accounts ({', '.join(ACCOUNT_COLUMNS)}, password_hash) "  # noqa: S608 - column names are the Account class's own
    f"VALUES ({', '.join(f'%({name})s' for name in ACCOUNT_COLUMNS)}, %(password_hash)s)"
)
INSERT_ID_NUMBER: Final = (
    "INSERT INTO regflow_id_numbers (id_number, account_id) VALUES (%(id_number)s, %(account_id)s)"
)
#: PostgreSQL's insert of an account and all its ID numbers (``%(id_numbers)s``, a list) in
#: one statement, so one round trip and one transaction, atomic by itself: a number already
#: held fails the whole statement on a unique constraint, as the two inserts do in SQLite.
INSERT_ACCOUNT_AND_NUMBERS: Final = (
    f"WITH account AS ({INSERT_ACCOUNT} RETURNING account_id) "  # noqa: S608 - as above
    "INSERT INTO regflow_id_numbers (id_number, account_id) "
    "SELECT number, account_id FROM account, unnest(%(id_numbers)s::text[]) AS number"
)
#: An account's ID numbers but its current one: its `former_id_numbers`, in order.
FORMER_ID_NUMBERS: Final = (
    "SELECT id_number FROM regflow_id_numbers "
    "WHERE account_id = %(account_id)s AND id_number <> %(id_number)s ORDER BY id_number"
)
#: The columns of account ``a``, known by ID number ``n`` (`_BY_ID_NUMBER`).
_NUMBERED_COLUMNS: Final = ", ".join(f"a.{name} AS {name}" for name in ACCOUNT_COLUMNS)
_BY_ID_NUMBER: Final = (
    "FROM regflow_id_numbers AS n JOIN regflow_accounts AS a ON a.account_id = n.account_id"
)
#: The account known by the login, a CMT/CCCD number current or former (never a BHXH one).
FIND_BY_LOGIN: Final = f"SELECT {_NUMBERED_COLUMNS} {_BY_ID_NUMBER} WHERE n.id_number = %(login)s"
PASSWORD_HASH: Final = (
    "SELECT password_hash FROM regflow_accounts WHERE account_id = %(account_id)s"  # noqa: S105 - SQL
)
#: Any account's new password hash (the recovery's), whichever flow created the account.
SET_PASSWORD_HASH: Final = (
    "UPDATE regflow_accounts SET password_hash = %(password_hash)s "  # noqa: S105 - SQL
    "WHERE account_id = %(account_id)s"
)
#: The new password hash of an account only if that flow created it (a registration's retry).
REPLACE_PASSWORD_HASH: Final = f"{SET_PASSWORD_HASH} AND flow_id = %(flow_id)s"

#: The stored hash of an account without a password (a VNeID sign-up's): the column stays
#: NOT NULL, so a database made before such accounts opens unchanged.
NO_PASSWORD: Final = ""
#: The account verified by VNeID: its time, and its level raised, never lowered.
VERIFY_IDENTITY: Final = (
    "UPDATE regflow_accounts SET vneid_verified_at = %(verified_at)s, verification_level = "
    "CASE WHEN verification_level < %(level)s THEN %(level)s ELSE verification_level END "
    "WHERE account_id = %(account_id)s"
)
#: The column `Account.vneid_verified_at` added to a table made before it (every store adds
#: it when it is missing: see its schema).
VNEID_COLUMN: Final = "vneid_verified_at"


def stored_hash(password_hash: str | None) -> str:
    """What the password column holds for `password_hash` (`NO_PASSWORD` for none)."""
    return NO_PASSWORD if password_hash is None else password_hash


def read_hash(stored: object) -> str | None:
    """A password column's value as `UserStore.password_hash` gives it back."""
    return None if stored is None or stored == NO_PASSWORD else str(stored)


#: Every CMT/CCCD number an account is known by, each held by one account at most; and the
#: accounts of a database made before the table existed, each known by its `id_number`
#: (what the backfill finds done, it leaves: every statement may run again harmlessly).
ID_NUMBERS_SCHEMA: Final = """\
CREATE TABLE IF NOT EXISTS regflow_id_numbers (
    id_number   text PRIMARY KEY,  -- CMT/CCCD, current or former: one account per citizen
    account_id  text NOT NULL REFERENCES regflow_accounts (account_id)
);
CREATE INDEX IF NOT EXISTS regflow_id_numbers_account_id ON regflow_id_numbers (account_id);
INSERT INTO regflow_id_numbers (id_number, account_id)
SELECT id_number, account_id FROM regflow_accounts AS a
WHERE NOT EXISTS (SELECT 1 FROM regflow_id_numbers AS n WHERE n.account_id = a.account_id)
ON CONFLICT (id_number) DO NOTHING;
"""


@functools.cache
def find_account(id_numbers: int) -> str:
    """The account known by one of `id_numbers` ID numbers (``%(id_0)s`` …) if there is
    one, else the account of the BHXH number (``%(bhxh)s``)."""
    numbers = ", ".join(f"%(id_{index})s" for index in range(id_numbers))
    return (
        f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM ("  # noqa: S608 - as above
        f"SELECT {_NUMBERED_COLUMNS}, 0 AS by_bhxh {_BY_ID_NUMBER} "
        f"WHERE n.id_number IN ({numbers}) "
        f"UNION ALL SELECT {', '.join(ACCOUNT_COLUMNS)}, 1 FROM regflow_accounts "
        "WHERE bhxh_number = %(bhxh)s"
        ") AS found ORDER BY by_bhxh LIMIT 1"
    )


@functools.cache
def with_former_numbers(statement: str) -> str:
    """PostgreSQL's `statement` (an account's columns) with the account's former ID numbers
    as one more column, an array in `FORMER_ID_NUMBERS`' order: one round trip, not two."""
    return (
        "SELECT found.*, ARRAY(SELECT n.id_number FROM regflow_id_numbers AS n "  # noqa: S608 - our own statements
        "WHERE n.account_id = found.account_id AND n.id_number <> found.id_number "
        f"ORDER BY n.id_number) AS former_id_numbers FROM ({statement}) AS found"
    )


def find_parameters(
    id_number: str, bhxh_number: str, former_id_numbers: Sequence[str]
) -> tuple[str, dict[str, str]]:
    """`find_account`'s statement for these numbers, and its parameters."""
    numbers = dict.fromkeys((id_number, *former_id_numbers))
    parameters = {f"id_{index}": number for index, number in enumerate(numbers)}
    parameters["bhxh"] = bhxh_number
    return find_account(len(numbers)), parameters


def account_row(account: Account, password_hash: str | None) -> dict[str, object]:
    """The parameters of `INSERT_ACCOUNT_AND_NUMBERS`: the account's columns, its password
    hash as stored, and every number it is known by (each once)."""
    numbers = list(dict.fromkeys(account.id_numbers))
    return {
        **attrs.asdict(account),
        "password_hash": stored_hash(password_hash),
        "id_numbers": numbers,
    }


def id_number_rows(account: Account) -> list[dict[str, str]]:
    """The `INSERT_ID_NUMBER` parameters of every number `account` is known by."""
    numbers = dict.fromkeys(account.id_numbers)
    return [{"id_number": number, "account_id": account.account_id} for number in numbers]


LOAD_FLOW: Final = "SELECT snapshot FROM regflow_flows WHERE flow_id = %(flow_id)s"
#: Every stored flow, for an operator's report (`regflow db verify`), in a stable order.
ALL_FLOWS: Final = "SELECT snapshot FROM regflow_flows ORDER BY flow_id"
INSERT_FLOW: Final = """\
INSERT INTO regflow_flows (flow_id, version, state, expires_at, updated_at, snapshot)
VALUES (%(flow_id)s, %(version)s, %(state)s, %(expires_at)s, %(updated_at)s, %(snapshot)s)
ON CONFLICT (flow_id) DO NOTHING"""
UPDATE_FLOW: Final = """\
UPDATE regflow_flows
SET version = %(version)s, state = %(state)s, expires_at = %(expires_at)s,
    updated_at = %(updated_at)s, snapshot = %(snapshot)s
WHERE flow_id = %(flow_id)s AND version = %(version)s - 1"""
#: PostgreSQL: put before a statement (sent with it in one simple query, one implicit
#: transaction) for a commit that does not wait for the WAL to reach the disk.
COMMIT_WITHOUT_WAITING: Final = "SET LOCAL synchronous_commit TO off; "
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
        "state": str(snapshot.state),
        "expires_at": moment(snapshot.expires_at),
        "updated_at": moment(snapshot.updated_at),
        "snapshot": document,
    }


#: An outbox row is 'pending' (to go out) or 'dead' (given up on: a dead letter); a
#: delivered message's row is deleted, payload and all.
INSERT_OUTBOX: Final = """\
INSERT INTO regflow_outbox (idempotency_key, kind, payload, status, attempts, created_at)
VALUES (%(idempotency_key)s, %(kind)s, %(payload)s, 'pending', 0, %(created_at)s)"""
#: Lease the due messages, oldest first; `{lock}` is PostgreSQL's row lock (SQLite's write
#: lock already holds the whole statement).
_CLAIM_OUTBOX: Final = """\
UPDATE regflow_outbox SET attempts = attempts + 1, leased_until = %(until)s, lease = %(lease)s
WHERE idempotency_key IN (
    SELECT idempotency_key FROM regflow_outbox
    WHERE status = 'pending' AND (available_at IS NULL OR available_at <= %(now)s)
        AND (leased_until IS NULL OR leased_until <= %(now)s)
    ORDER BY created_at, idempotency_key LIMIT %(limit)s{lock}
)
RETURNING idempotency_key, kind, payload, attempts, lease"""
CLAIM_OUTBOX: Final = _CLAIM_OUTBOX.format(lock="")
CLAIM_OUTBOX_SKIP_LOCKED: Final = _CLAIM_OUTBOX.format(lock=" FOR UPDATE SKIP LOCKED")
DELETE_DELIVERED: Final = "DELETE FROM regflow_outbox WHERE idempotency_key = %(idempotency_key)s"
#: A failed attempt, recorded only by the worker that still holds the lease.
RETRY_LATER: Final = """\
UPDATE regflow_outbox SET available_at = %(retry_at)s, leased_until = NULL, lease = NULL
WHERE idempotency_key = %(idempotency_key)s AND lease = %(lease)s"""
#: A dead letter, likewise: it stays, payload and all, for an operator to look at.
MARK_DEAD: Final = """\
UPDATE regflow_outbox SET status = 'dead', leased_until = NULL, lease = NULL
WHERE idempotency_key = %(idempotency_key)s AND lease = %(lease)s"""


def outbox_rows(
    messages: Sequence[OutboxMessage],
    created_at: object,
    payload: Callable[[Mapping[str, Any]], object],
) -> list[dict[str, object]]:
    """The `INSERT_OUTBOX` parameters of `messages`, payloads as the database takes them."""
    return [
        {
            "idempotency_key": message.idempotency_key,
            "kind": message.kind,
            "payload": payload(message.payload),
            "created_at": created_at,
        }
        for message in messages
    ]


def claimed(row: Mapping[str, Any], payload: Mapping[str, Any]) -> ClaimedMessage:
    """A `CLAIM_OUTBOX` row as the worker takes it."""
    message = OutboxMessage(
        idempotency_key=row["idempotency_key"], kind=row["kind"], payload=payload
    )
    return ClaimedMessage(message=message, attempts=row["attempts"], lease=row["lease"])
