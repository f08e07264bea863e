"""No flow is lost across the upgrade to snapshot schema 4 (regflow runs any flow).

`schema3/flows.json` holds flows that the code of commit af21cec (snapshot schema 3, one
flow only) stored half-way through a registration, and the code it texted; it was made by
``PYTHONPATH=<af21cec>/src python tests/stores/schema3/make_flows.txt FILE``
(a script for that commit's API, so it is kept as text, out of the linters' way). Each is put in
a SQL store as that code left it, and then completed by today's engine.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pytest

from regflow import ConfirmOtp, SetPassword, State
from regflow.adapters._sql import sqlite_style
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import STRONG_PASSWORD, Backend, engine_on

FIXTURE = json.loads((Path(__file__).parent / "schema3" / "flows.json").read_text())
FLOWS: dict[str, dict[str, Any]] = FIXTURE["flows"]
#: The citizen of the flow stored at its password: another than `CITIZEN`.
SECOND = attrs.evolve(
    CITIZEN,
    bhxh_number="0123456780",
    full_name="Trần Thị Bình",
    phone="+84987654321",
    id_number="079090012346",
)


#: The row the schema-3 code wrote (its columns are today's too).
INSERT = (
    "INSERT INTO regflow_flows (flow_id, version, state, expires_at, updated_at, snapshot) "
    "VALUES (%(flow_id)s, %(version)s, %(state)s, %(expires_at)s, %(updated_at)s, %(snapshot)s)"
)


def _rows() -> list[dict[str, object]]:
    rows = []
    for flow in FLOWS.values():
        document = flow["document"]
        path = document.get("path") or ["choosing_method"]
        rows.append(
            {
                "flow_id": flow["flow_id"],
                "version": document["version"],
                "state": document.get("state", path[-1]),
                "expires_at": datetime.fromtimestamp(document["expires_at"], UTC),
                "updated_at": datetime.fromtimestamp(document["updated_at"], UTC),
                "snapshot": json.dumps(document, ensure_ascii=False),
            }
        )
    return rows


def _utc(moment: object) -> str:
    """A time as the SQLite store writes it: fixed-width UTC text."""
    assert isinstance(moment, datetime)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _stored_as_schema_3(backend: Backend) -> None:
    """Put every fixture flow in the backend's table as the schema-3 code wrote it."""
    backend.open()  # creates the tables
    if backend.name == "sqlite":
        with closing(sqlite3.connect(backend.location)) as connection, connection:
            for row in _rows():
                times = {key: _utc(row[key]) for key in ("expires_at", "updated_at")}
                connection.execute(sqlite_style(INSERT), {**row, **times})
        return
    with psycopg.connect(backend.location) as postgres:
        for row in _rows():
            postgres.execute(INSERT.replace("%(snapshot)s", "%(snapshot)s::jsonb"), row)


@pytest.fixture
def upgraded(shared_backend: Backend) -> tuple[Backend, FakePorts]:
    _stored_as_schema_3(shared_backend)
    ports = FakePorts.seeded()
    ports.bhxh.add(SECOND)
    ports.clock.set(datetime.fromisoformat(FIXTURE["clock"]))
    return shared_backend, ports


def test_a_flow_waiting_for_its_code_completes_with_the_code_sent_before(
    upgraded: tuple[Backend, FakePorts],
) -> None:
    backend, ports = upgraded
    engine = engine_on(ports, *backend.open())
    flow = FLOWS["otp_pending"]

    waiting = engine.view(flow["flow_id"])
    confirmed = engine.send(flow["flow_id"], ConfirmOtp(flow["code"]))
    done = engine.send(flow["flow_id"], SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert (waiting.flow, waiting.state) == ("bhxh_registration", State.OTP_PENDING)
    assert waiting.otp_sends_left == 4  # the send before the upgrade still counts
    assert confirmed.state is State.SETTING_PASSWORD, confirmed.errors
    assert done.state is State.COMPLETED, done.errors
    assert done.account is not None
    assert done.account.id_number == CITIZEN.id_number


def test_a_flow_at_its_password_completes(upgraded: tuple[Backend, FakePorts]) -> None:
    backend, ports = upgraded
    engine = engine_on(ports, *backend.open())
    flow_id = FLOWS["setting_password"]["flow_id"]

    done = engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert done.state is State.COMPLETED, done.errors
    assert done.account is not None
    assert done.account.bhxh_number == SECOND.bhxh_number


def test_a_flow_at_a_mismatch_keeps_its_count_and_goes_on(
    upgraded: tuple[Backend, FakePorts],
) -> None:
    backend, ports = upgraded
    engine = engine_on(ports, *backend.open())
    flow_id = FLOWS["data_mismatch"]["flow_id"]

    before = engine.view(flow_id)
    matched = engine.send(flow_id, form_for())

    assert before.details.mismatches_left == 4
    assert matched.state is State.OTP_PENDING, matched.errors
