"""A snapshot's stored JSON (schema 4): the generic part, the flow's context, whole again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from regflow import (
    BHXH_REGISTRATION,
    PASSWORD_RECOVERY,
    Engine,
    FlowSnapshot,
    OtpChallenge,
    RecoveryState,
    SetPassword,
    State,
)
from regflow.engine import codec
from regflow.flows.registration import RegistrationContext, account_of
from regflow.testing import CITIZEN, FakePorts

from .conftest import STRONG_PASSWORD, at_password


def completed(engine: Engine, ports: FakePorts) -> FlowSnapshot:
    flow_id = at_password(engine, ports).flow_id
    engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))
    snapshot = ports.flows.load(flow_id)
    assert snapshot is not None
    assert snapshot.state is State.COMPLETED
    return snapshot


def reread(snapshot: FlowSnapshot) -> FlowSnapshot:
    """The snapshot through its JSON text and back, typed by its flow's declaration."""
    return codec.typed(codec.loads(codec.dumps(snapshot)), BHXH_REGISTRATION)


def test_a_completed_flow_reads_back_whole(engine: Engine, ports: FakePorts) -> None:
    snapshot = completed(engine, ports)

    document = json.loads(codec.dumps(snapshot))

    assert document["flow"] == "bhxh_registration"
    assert document["schema"] == codec.SCHEMA == 4
    assert "state" not in document  # the path says it
    assert document["path"][-1] == "completed"
    assert reread(snapshot) == snapshot


def test_a_document_is_loaded_untyped_until_its_flow_types_it(
    engine: Engine, ports: FakePorts
) -> None:
    """The codec knows no flow: the context comes back as the JSON it was, the state as text."""
    snapshot = completed(engine, ports)

    loaded = codec.loads(codec.dumps(snapshot))

    assert isinstance(loaded.context, dict)
    assert type(loaded.state) is str
    assert codec.typed(loaded, BHXH_REGISTRATION).state is State.COMPLETED


def test_a_citizen_s_former_id_numbers_read_back() -> None:
    ports = FakePorts.seeded(attrs.evolve(CITIZEN, former_id_numbers=("013 579 246",)))
    snapshot = completed(ports.engine(), ports)

    account = account_of(snapshot)
    assert account is not None
    assert account.former_id_numbers == ("013579246",)
    assert reread(snapshot) == snapshot


def test_a_recovery_s_states_are_its_own() -> None:
    ports = FakePorts.seeded()
    view = ports.engine().start(PASSWORD_RECOVERY.name)
    snapshot = ports.flows.load(view.flow_id)
    assert snapshot is not None

    loaded = codec.typed(codec.loads(codec.dumps(snapshot)), PASSWORD_RECOVERY)

    assert loaded == snapshot
    assert loaded.state is RecoveryState.ENTERING_LOGIN


# --- snapshots a host made itself -----------------------------------------------------------

HANOI = timezone(timedelta(hours=7))
SHARP = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def host_made(**context: Any) -> FlowSnapshot:
    return FlowSnapshot(
        flow_id="host-flow",
        flow="bhxh_registration",
        version=1,
        state=State.OTP_PENDING,
        created_at=SHARP,
        expires_at=SHARP + timedelta(minutes=30),
        updated_at=SHARP,
        path=(State.FILLING_FORM, State.OTP_PENDING),
        context=RegistrationContext(**context),
    )


def test_a_time_finer_than_a_second_or_in_another_zone_is_kept_whole() -> None:
    fine = SHARP.replace(microsecond=123_456)
    snapshot = attrs.evolve(
        host_made(
            otp=OtpChallenge(code_hash="hash", expires_at=fine.astimezone(HANOI)),
            otp_last_sent_at=SHARP,
        ),
        created_at=fine,
        expires_at=(SHARP + timedelta(minutes=30)).astimezone(HANOI),
    )

    document = json.loads(codec.dumps(snapshot))
    loaded = reread(snapshot)

    assert document["created_at"] == "2026-01-01T08:00:00.123456+00:00"
    assert document["expires_at"] == "2026-01-01T15:30:00+07:00"
    assert document["context"]["otp_last_sent_at"] == 1_767_254_400  # a whole second in UTC
    assert loaded == snapshot
    assert loaded.context.otp.expires_at.isoformat() == "2026-01-01T15:00:00.123456+07:00"
    assert loaded.expires_at.utcoffset() == timedelta(hours=7)  # the zone too, not only the instant


def test_a_snapshot_object_of_an_older_schema_is_written_and_read_as_the_current_one() -> None:
    snapshot = attrs.evolve(host_made(), schema=2)

    document = json.loads(codec.dumps(snapshot))

    assert document["schema"] == codec.SCHEMA
    assert reread(snapshot).schema == codec.SCHEMA


def test_defaults_are_left_out_of_the_context() -> None:
    document = json.loads(codec.dumps(host_made()))

    assert document["context"] == {}
    assert reread(host_made()) == host_made()


@pytest.mark.parametrize(
    ("updated_at", "written"),
    [(SHARP, False), (SHARP + timedelta(seconds=1), True), (None, True)],
    ids=["when it began", "later", "never said"],
)
def test_the_time_of_the_last_save_is_written_unless_the_flow_began_then(
    updated_at: datetime | None, written: bool
) -> None:
    snapshot = attrs.evolve(host_made(), updated_at=updated_at)

    document = json.loads(codec.dumps(snapshot))

    assert ("updated_at" in document) is written
    assert reread(snapshot) == snapshot


def test_the_state_is_written_where_the_path_does_not_say_it() -> None:
    at_start = attrs.evolve(host_made(), state=State.CHOOSING_METHOD, path=())
    moved_back = attrs.evolve(host_made(), state=State.FILLING_FORM)

    assert json.loads(codec.dumps(at_start))["state"] == "choosing_method"
    assert json.loads(codec.dumps(moved_back))["state"] == "filling_form"
    assert "state" not in json.loads(codec.dumps(host_made()))
    assert (reread(at_start), reread(moved_back)) == (at_start, moved_back)


def test_a_probed_flow_and_a_decoy_read_back() -> None:
    decoy = host_made(probed=True, decoy=True, decoy_phone=CITIZEN.phone)

    document = json.loads(codec.dumps(decoy))

    assert document["context"] == {"probed": True, "decoy": True, "decoy_phone": CITIZEN.phone}
    assert reread(decoy) == decoy


@pytest.mark.parametrize("missing", ["flow_id", "flow", "created_at", "context"])
def test_a_document_missing_a_generic_field_does_not_pass_for_a_flow(missing: str) -> None:
    document = json.loads(codec.dumps(host_made(otp_sends=1)))
    del document[missing]

    with pytest.raises((KeyError, TypeError, ValueError)):
        codec.typed(codec.from_document(document), BHXH_REGISTRATION)
