"""A snapshot's stored JSON says nothing twice and still reads back whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from cattrs.preconf.json import make_converter

from regflow import Engine, FlowSnapshot, OtpChallenge, SetPassword, State
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


def test_a_citizen_s_former_id_numbers_are_stored_once_and_read_back() -> None:
    ports = FakePorts.seeded(attrs.evolve(CITIZEN, former_id_numbers=("013 579 246",)))
    snapshot = completed(ports.engine(), ports)
    assert snapshot.account is not None

    stored = json_codec.dumps(snapshot)

    assert snapshot.account.former_id_numbers == ("013579246",)
    assert stored.count("013579246") == 1
    assert json_codec.loads(stored) == snapshot


def test_a_document_without_former_id_numbers_loads_with_none(
    engine: Engine, ports: FakePorts
) -> None:
    document = json.loads(json_codec.dumps(completed(engine, ports)))

    loaded = json_codec.from_document(document)

    assert "former_id_numbers" not in json.dumps(document)
    assert loaded.citizen is not None
    assert loaded.account is not None
    assert loaded.citizen.former_id_numbers == loaded.account.former_id_numbers == ()


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


# --- snapshots a host made itself -----------------------------------------------------------

HANOI = timezone(timedelta(hours=7))
SHARP = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def host_made(**changes: Any) -> FlowSnapshot:
    first = FlowSnapshot(
        flow_id="host-flow",
        version=1,
        state=State.CHOOSING_METHOD,
        created_at=SHARP,
        expires_at=SHARP + timedelta(minutes=30),
        updated_at=SHARP,
    )
    return attrs.evolve(first, **changes)


def test_a_time_finer_than_a_second_or_in_another_zone_is_kept_whole() -> None:
    fine = SHARP.replace(microsecond=123_456)
    snapshot = host_made(
        created_at=fine,
        expires_at=(SHARP + timedelta(minutes=30)).astimezone(HANOI),
        otp=OtpChallenge(code_hash="hash", expires_at=fine.astimezone(HANOI)),
        otp_last_sent_at=SHARP,
    )

    document = json.loads(json_codec.dumps(snapshot))
    loaded = json_codec.loads(json_codec.dumps(snapshot))

    assert document["created_at"] == "2026-01-01T08:00:00.123456+00:00"
    assert document["expires_at"] == "2026-01-01T15:30:00+07:00"
    assert document["otp_last_sent_at"] == 1_767_254_400  # a whole second in UTC
    assert loaded == snapshot
    assert loaded.otp is not None
    assert loaded.otp.expires_at.isoformat() == "2026-01-01T15:00:00.123456+07:00"
    assert loaded.expires_at.utcoffset() == timedelta(hours=7)  # the zone too, not only the instant


@pytest.mark.parametrize(
    ("state", "path", "written"),
    [
        (State.CHOOSING_METHOD, (), False),
        (State.FILLING_FORM, (), True),
        (State.OTP_PENDING, (State.FILLING_FORM, State.OTP_PENDING), False),
        (State.LOCKED, (State.FILLING_FORM, State.OTP_PENDING), True),
    ],
)
def test_the_state_is_written_only_where_the_path_does_not_imply_it(
    state: State, path: tuple[State, ...], written: bool
) -> None:
    snapshot = host_made(state=state, path=path)

    stored = json_codec.dumps(snapshot)

    assert ("state" in json.loads(stored)) is written
    assert json_codec.loads(stored) == snapshot


def test_a_snapshot_object_of_an_older_schema_is_written_and_read_as_the_current_one() -> None:
    hash_in_base64url = "HR2-FpDHgdUxB7TfBdoJ4Umj1fzSEUmJV8QJpjemAcA"
    snapshot = host_made(schema=2, otp=OtpChallenge(code_hash=hash_in_base64url, expires_at=SHARP))

    document = json.loads(json_codec.dumps(snapshot))
    loaded = json_codec.loads(json_codec.dumps(snapshot))

    assert document["schema"] == json_codec.SCHEMA
    assert loaded.otp == snapshot.otp
    assert loaded.schema == json_codec.SCHEMA


def test_a_probed_flow_and_a_decoy_read_back_and_older_documents_load_without_them() -> None:
    decoy = host_made(
        state=State.OTP_PENDING,
        path=(State.FILLING_FORM, State.OTP_PENDING),
        probed=True,
        decoy_phone=CITIZEN.phone,
    )
    document = json.loads(json_codec.dumps(decoy))
    assert (document["probed"], document["decoy_phone"]) == (True, CITIZEN.phone)
    assert json_codec.loads(json_codec.dumps(decoy)) == decoy

    del document["probed"], document["decoy_phone"]  # a schema-3 document written before them
    assert json_codec.from_document(document) == attrs.evolve(decoy, probed=False, decoy_phone=None)
