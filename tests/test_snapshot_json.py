"""A completed flow's stored JSON names the citizen once and still reads back whole."""

from __future__ import annotations

import json

import attrs
from cattrs.preconf.json import make_converter

from regflow import Engine, FlowSnapshot, SetPassword, State
from regflow.adapters import json_codec
from regflow.testing import CITIZEN, FakePorts

from .conftest import STRONG_PASSWORD, at_password


def completed(engine: Engine, ports: FakePorts) -> FlowSnapshot:
    flow_id = at_password(engine, ports).flow_id
    engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))
    snapshot = ports.flows.load(flow_id)
    assert snapshot is not None
    assert snapshot.state is State.COMPLETED
    return snapshot


def test_a_completed_flow_names_the_citizen_once(engine: Engine, ports: FakePorts) -> None:
    snapshot = completed(engine, ports)

    stored = json_codec.dumps(snapshot)

    assert stored.count(CITIZEN.id_number) == 1
    assert stored.count(snapshot.flow_id) == 1
    assert json_codec.loads(stored) == snapshot


def test_an_account_that_differs_from_the_citizen_keeps_its_own_values(
    engine: Engine, ports: FakePorts
) -> None:
    snapshot = completed(engine, ports)
    assert snapshot.account is not None
    account = attrs.evolve(snapshot.account, full_name="Nguyễn Văn Bình", email="b@x.vn")
    renamed = attrs.evolve(snapshot, account=account)

    assert json_codec.loads(json_codec.dumps(renamed)) == renamed


def test_a_document_with_the_whole_account_still_loads(engine: Engine, ports: FakePorts) -> None:
    snapshot = completed(engine, ports)
    document = json.loads(json_codec.dumps(snapshot))
    document["account"] = make_converter().unstructure(snapshot.account)

    assert json_codec.loads(json.dumps(document)) == snapshot
