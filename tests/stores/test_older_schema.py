"""Writing an older snapshot schema while servers that read only it share the database."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import (
    BHXH_REGISTRATION,
    BHXH_REGISTRATION_V1,
    ChooseMethod,
    ConfirmOtp,
    FlowSnapshot,
    SetPassword,
    State,
    open_stores,
)
from regflow.engine import codec
from regflow.testing import FakePorts, form_for

from .conftest import STRONG_PASSWORD

if TYPE_CHECKING:
    from pathlib import Path

    from regflow import Engine


def _flows(engine: Engine, ports: FakePorts) -> list[str]:
    """Flows of version 1 at the start, at the form and at the password."""
    started = engine.start(BHXH_REGISTRATION.name).flow_id
    at_form = engine.send(
        engine.start(BHXH_REGISTRATION.name).flow_id, ChooseMethod("citizen", "bhxh")
    )
    at_code = engine.send(
        engine.start(BHXH_REGISTRATION.name).flow_id, ChooseMethod("citizen", "bhxh")
    )
    engine.send(at_code.flow_id, form_for())
    at_password = engine.send(at_code.flow_id, ConfirmOtp(ports.sms.last_code()))
    assert at_password.state is State.SETTING_PASSWORD
    return [started, at_form.flow_id, at_code.flow_id]


def _typed(snapshot: FlowSnapshot) -> FlowSnapshot:
    return codec.typed(snapshot, BHXH_REGISTRATION_V1)


@pytest.mark.parametrize("schema", [1, 2, 3])
def test_a_document_written_in_an_older_schema_reads_back_the_same(schema: int) -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(BHXH_REGISTRATION_V1)
    for flow_id in _flows(engine, ports):
        snapshot = _typed(ports.flows.flows[flow_id])
        text = codec.dumps(snapshot, schema=schema)

        assert json.loads(text)["schema"] == schema
        read = _typed(codec.loads(text))
        if schema == 1:  # schema 1 had no updated_at: it reads as the flow's start
            snapshot = attrs.evolve(snapshot, updated_at=snapshot.created_at)
        assert read == snapshot


def test_a_completed_flow_keeps_its_account_in_schema_3() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(BHXH_REGISTRATION_V1)
    flow_id = _flows(engine, ports)[-1]  # at the password
    view = engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))
    snapshot = _typed(ports.flows.flows[flow_id])

    assert view.state is State.COMPLETED
    assert _typed(codec.loads(codec.dumps(snapshot, schema=3))) == snapshot


def test_schema_3_cannot_hold_a_flow_of_version_2_nor_another_flow() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine()
    flow_id = engine.start(BHXH_REGISTRATION.name).flow_id
    recovery = engine.start("password_recovery").flow_id

    for snapshot in (ports.flows.flows[flow_id], ports.flows.flows[recovery]):
        with pytest.raises(ValueError, match="schema 3 holds only version 1"):
            codec.dumps(snapshot, schema=3)
    back_home = attrs.evolve(ports.flows.flows[flow_id], flow_version=1, path=("filling_form",))
    with pytest.raises(ValueError, match="back in 'choosing_method'"):
        codec.dumps(back_home, schema=3)


def test_a_store_keeps_writing_the_older_schema_and_a_v2_flow_is_a_retryable_error(
    tmp_path: Path,
) -> None:
    database = tmp_path / "regflow.sqlite3"
    ports = FakePorts.seeded()
    with open_stores(database, write_schema=3) as stores:
        old_shape = attrs.evolve(ports, flows=stores.flows, users=stores.users)  # type: ignore[arg-type]
        flow_id = old_shape.engine(BHXH_REGISTRATION_V1).start(BHXH_REGISTRATION.name).flow_id
        refused = old_shape.engine().start(BHXH_REGISTRATION.name)

    with closing(sqlite3.connect(database)) as connection:
        [(text,)] = connection.execute("SELECT snapshot FROM regflow_flows").fetchall()
    assert json.loads(text)["schema"] == 3
    assert json.loads(text)["flow_id"] == flow_id
    assert refused.error_codes() == ("storage.unavailable",)
