"""Versions of a declaration: fingerprints, pinned and migrated flows, old servers, the checks."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from structlog.testing import capture_logs

from regflow import (
    BHXH_REGISTRATION,
    BHXH_REGISTRATION_V1,
    BHXH_REGISTRATION_V2,
    PASSWORD_RECOVERY,
    SHIPPED_FLOWS,
    SHIPPED_OLDER_VERSIONS,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowSnapshot,
    FlowSpec,
    Migration,
    SetPassword,
    StaleFlowError,
    State,
)
from regflow.adapters.sqlite import SqliteFlowStore
from regflow.declare import otherwise, state, when
from regflow.diagram import mermaid
from regflow.engine import codec
from regflow.flows.registration import form_invalid
from regflow.machine import transitions
from regflow.testing import CITIZEN, STRONG_PASSWORD, FakePorts, form_for
from regflow.tools._cli import main
from regflow.tools._migration_check import (
    fingerprint_check,
    migration_check,
    recorded_fingerprints,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

ROOT = Path(__file__).parent.parent
V1, V2, V3 = BHXH_REGISTRATION_V1, BHXH_REGISTRATION_V2, BHXH_REGISTRATION
CITIZEN_TIME = FakePorts().clock.now()


def servers(ports: FakePorts) -> tuple[Engine, Engine]:
    """An old server (version 1 only) and a new one (both versions), on one store."""
    return ports.engine(V1, PASSWORD_RECOVERY), ports.engine()


def at_form(engine: Engine) -> str:
    flow_id = engine.start(V1.name).flow_id
    view = engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    assert view.state is State.FILLING_FORM
    return flow_id


# --- fingerprints -----------------------------------------------------------------------------


def test_a_guards_code_leaves_the_fingerprint_and_the_graph_changes_it() -> None:
    def form_invalid_rewritten(_: object) -> bool:  # same rule name, other code
        return False

    form_invalid_rewritten.__name__ = "form_invalid"
    rewritten = [
        {**t, "conditions": [form_invalid_rewritten]}
        if t.get("conditions") == [form_invalid]
        else t
        for t in transitions(form_invalid)
    ]

    assert V1.with_transitions(rewritten).fingerprint == V1.fingerprint
    assert V2.fingerprint != V1.fingerprint
    assert V1.with_transitions(transitions(form_invalid)[1:]).fingerprint != V1.fingerprint


def test_the_recorded_fingerprints_are_the_shipped_declarations() -> None:
    recorded = json.loads((ROOT / "fingerprints.json").read_text())
    versions = [*SHIPPED_FLOWS, *SHIPPED_OLDER_VERSIONS]

    assert fingerprint_check(versions, recorded) == []
    assert recorded_fingerprints(versions, recorded) == recorded


def test_check_says_when_the_graph_changed_but_the_version_did_not(tmp_path: Path) -> None:
    lock = tmp_path / "fingerprints.json"
    lock.write_text(json.dumps({V2.name: {"2": "0" * 16}}))

    assert main(["check", "--fingerprints", str(lock), "--record"]) == 1
    assert json.loads(lock.read_text()) == {
        V2.name: {"1": V1.fingerprint, "2": "0" * 16, "3": V3.fingerprint}
    }
    assert [f.kind for f in fingerprint_check([V2], {V2.name: {"2": "x"}})] == [
        "fingerprint_changed"
    ]


def test_a_new_fingerprints_file_is_written_with_every_version(tmp_path: Path) -> None:
    lock = tmp_path / "fingerprints.json"

    assert main(["check", "--flow", "all", "--fingerprints", str(lock), "--record"]) == 0
    assert json.loads(lock.read_text()) == json.loads((ROOT / "fingerprints.json").read_text())


# --- pinned and migrated flows ----------------------------------------------------------------


def test_a_flow_at_the_form_moves_through_version_2_to_version_3_on_its_next_load() -> None:
    """1 → 2 (the form asks for the number) → 3 (the host's veto): one move, one save."""
    ports = FakePorts.seeded()
    old, new = servers(ports)
    flow_id = at_form(old)
    stored = ports.flows.flows[flow_id]

    with capture_logs() as logs:
        view = new.view(flow_id)

    moved = ports.flows.flows[flow_id]
    assert (moved.flow_version, moved.version) == (3, stored.version + 1)
    assert view.state is State.FILLING_FORM
    assert [log for log in logs if log["event"] == "flow.migrated"] == [
        {
            "event": "flow.migrated",
            "log_level": "info",
            "flow_id": flow_id,
            "flow": V2.name,
            "from_version": 1,
            "to_version": 3,
            "state": "filling_form",
        }
    ]
    assert new.send(flow_id, form_for(id_number="")).error_codes() == ("id_number.required",)


def test_a_flow_past_the_form_finishes_on_version_1() -> None:
    ports = FakePorts.seeded()
    old, new = servers(ports)
    flow_id = at_form(old)
    assert old.send(flow_id, form_for(id_number=None)).state is State.OTP_PENDING

    view = new.send(flow_id, ConfirmOtp(ports.sms.last_code()))

    assert view.state is State.SETTING_PASSWORD
    assert ports.flows.flows[flow_id].flow_version == 1


def test_an_old_server_answers_a_newer_flow_with_a_retryable_error_and_writes_nothing() -> None:
    ports = FakePorts.seeded()
    old, new = servers(ports)
    flow_id = new.send(new.start(V2.name).flow_id, ChooseMethod("citizen", "bhxh")).flow_id
    stored = ports.flows.flows[flow_id]

    with capture_logs() as logs:
        view = old.send(flow_id, form_for())

    assert view.error_codes() == ("flow.version_unknown",)
    assert view.errors[0].retryable
    assert ports.flows.flows[flow_id] is stored
    assert logs[0]["event"] == "flow.version_unknown"
    assert logs[0]["reason"] == "version_unknown"


def _stored(ports: FakePorts, **changes: Any) -> str:
    engine = ports.engine()
    flow_id = engine.start(V2.name).flow_id
    document = {**codec.to_document(ports.flows.flows[flow_id]), **changes}
    ports.flows.flows[flow_id] = codec.from_document(document)
    return flow_id


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"state": "renamed_away"}, "state_unknown"),
        ({"context": {"mismatches": "many"}}, "context_invalid"),
        ({"flow_version": 7}, "version_unknown"),
    ],
)
def test_a_flow_this_server_cannot_read_is_a_retryable_error(
    changes: Mapping[str, object], reason: str
) -> None:
    ports = FakePorts.seeded()
    flow_id = _stored(ports, **changes)

    with capture_logs() as logs:
        view = ports.engine().view(flow_id)

    assert view.error_codes() == ("flow.version_unknown",)
    assert logs[0]["reason"] == reason


@attrs.frozen
class Light:
    on: bool = False


def _light(version: int = 1, *migrations: Migration, states: tuple[str, ...] = ()) -> FlowSpec:
    """A tiny flow whose states are `off` and `states`, with no events."""
    names = enum.StrEnum("LightState", ["off", *states])  # type: ignore[misc]
    return FlowSpec(
        name="light",
        title=V1.title,
        states={member: state(member.value, member.value) for member in names},
        initial=names("off"),
        events={},
        transitions=[],
        context=Light,
        lifetime=V1.lifetime,
        version=version,
        migrations=migrations,
    )


def _on(context: Mapping[str, Any]) -> bool:
    return bool(context.get("on"))


def test_a_guarded_route_moves_the_flows_it_holds_for_and_pins_the_rest() -> None:
    old = _light(1, states=("dim",))
    new = _light(
        2, Migration(from_version=1, states={"dim": [when(_on, "bright")]}), states=("bright",)
    )
    ports = FakePorts.seeded()
    engine = ports.engine(old, new)
    for on in (True, False):
        flow_id = ports.engine(old).start("light").flow_id
        snapshot = ports.flows.flows[flow_id]
        ports.flows.flows[flow_id] = attrs.evolve(snapshot, state="dim", context=Light(on=on))

        engine.view(flow_id)

        stored = ports.flows.flows[flow_id]
        assert (stored.flow_version, stored.state) == ((2, "bright") if on else (1, "dim"))


def test_a_context_upgrade_and_a_chain_of_migrations_move_a_flow_two_versions() -> None:
    def switch_on(context: dict[str, Any]) -> dict[str, Any]:
        return {**context, "on": True}

    v1 = _light(1)
    v2 = _light(2, Migration(from_version=1, states={"off": "off"}, context=switch_on))
    v3 = _light(3, Migration(from_version=2, states={"off": otherwise("on")}), states=("on",))
    ports = FakePorts.seeded()
    flow_id = ports.engine(v1).start("light").flow_id

    view = ports.engine(v3, v2).view(flow_id)

    stored = ports.flows.flows[flow_id]
    assert (stored.flow_version, stored.state, stored.context) == (3, "on", Light(on=True))
    assert stored.path == ("on",)
    assert view.ok


def test_a_migration_that_raises_is_a_retryable_error() -> None:
    def broken(_: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError

    ports = FakePorts.seeded()
    flow_id = ports.engine(_light(1)).start("light").flow_id
    engine = ports.engine(
        _light(2, Migration(from_version=1, states={"off": "off"}, context=broken))
    )

    assert engine.view(flow_id).error_codes() == ("flow.version_unknown",)


class _LosesTheMove:
    """A store whose first save of a moved flow loses to another server's same move."""

    def __init__(self, ports: FakePorts) -> None:
        self.ports, self.lost = ports, False

    def load(self, flow_id: str) -> FlowSnapshot | None:
        return self.ports.flows.load(flow_id)

    def save(self, snapshot: FlowSnapshot) -> None:
        self.ports.flows.save(snapshot)
        if not self.lost:
            self.lost = True
            raise StaleFlowError(snapshot.flow_id)

    def purge_expired(self, now: object) -> int:
        raise NotImplementedError


def test_a_move_that_loses_a_race_reads_the_flow_again() -> None:
    ports = FakePorts.seeded()
    flow_id = at_form(ports.engine(V1))
    store = _LosesTheMove(ports)
    engine = attrs.evolve(ports, flows=store).engine()  # type: ignore[arg-type]

    view = engine.view(flow_id)

    assert store.lost
    assert view.ok
    assert ports.flows.flows[flow_id].flow_version == V3.version


class _FailingSaves(_LosesTheMove):
    def save(self, _: FlowSnapshot) -> None:
        raise OSError


def test_a_store_failing_on_the_move_is_the_storage_error() -> None:
    ports = FakePorts.seeded()
    flow_id = at_form(ports.engine(V1))
    engine = attrs.evolve(ports, flows=_FailingSaves(ports)).engine()  # type: ignore[arg-type]

    assert engine.view(flow_id).error_codes() == ("storage.unavailable",)
    assert ports.flows.flows[flow_id].flow_version == 1


def test_a_declaration_migrates_once_from_each_older_version_into_its_own_states() -> None:
    with pytest.raises(ValueError, match="one migration per older version"):
        _light(2, Migration(from_version=2, states={}))
    with pytest.raises(ValueError, match="one migration per older version"):
        _light(3, Migration(from_version=1, states={}), Migration(from_version=1, states={}))
    with pytest.raises(ValueError, match="undeclared state"):
        _light(2, Migration(from_version=1, states={"off": "gone"}))
    with pytest.raises(ValueError, match="same name and version"):
        FakePorts.seeded().engine(V1, V1)


# --- the static check -------------------------------------------------------------------------


def _kinds(*specs: FlowSpec, retired: tuple[int, ...] = ()) -> list[tuple[str, str]]:
    return [(f.kind, f.subject) for f in migration_check(specs, retired=retired)]


def test_the_migration_check_of_the_shipped_registration() -> None:
    assert _kinds(V1, V2, V3) == []
    assert _kinds(V1, V2, V3, retired=(2,)) == []  # version 3 moves every flow of version 2
    assert _kinds(V1, V2, V3, retired=(1,)) == [
        ("no_target", "otp_pending"),
        ("no_target", "otp_expired"),
        ("no_target", "setting_password"),
    ]


def test_the_migration_check_finds_each_way_a_stored_flow_is_stranded() -> None:
    old = _light(1, states=("dim", "lit"))
    guarded = Migration(from_version=1, states={"dim": [when(_on, "bright")], "gone": "off"})

    assert _kinds(old, _light(2), retired=(1,)) == [("version_stranded", "v1")]
    assert _kinds(old, _light(2, guarded, states=("bright",)), retired=(1,)) == [
        ("no_target", "off"),
        ("no_target", "dim"),
        ("no_target", "lit"),
        ("migration_target_unreachable", "bright"),
        ("migration_unknown_state", "gone"),
    ]
    assert _kinds(_light(2, guarded, states=("bright",)))[0] == ("migration_source_unknown", "v1")
    assert _kinds(old, _light(1)) == [("version_clash", "v1")]


def test_check_migration_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--migration"]) == 0
    assert main(["check", "--migration", "--retire", "1"]) == 1
    out = capsys.readouterr().out
    assert "no_target: bhxh_registration v1 is retired, and its flows in 'otp_pending'" in out


# --- the diagrams ------------------------------------------------------------------------------


def test_the_diagram_of_version_1_shows_where_its_flows_move(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagram", "--flow", V1.name, "--version", "1", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "title: Registration by BHXH number (v1 → v2)" in out
    assert "filling_form : ⇢ v2: Filling in the BHXH form" in out
    assert "otp_pending : ⇢" not in out
    assert main(["diagram", "--version", "9"]) == 2
    assert "has no version 9 here: v1, v2" in capsys.readouterr().err


def test_a_guarded_route_is_drawn_with_its_guard() -> None:
    old = _light(1, states=("dim",))
    new = _light(2, Migration(from_version=1, states={"dim": [when(_on, "off")]}))

    assert "dim : ⇢ v2: off [_on]" in mermaid(old, moves_to=new)


# --- db verify ---------------------------------------------------------------------------------


def test_db_verify_reports_where_stored_flows_continue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "regflow.sqlite3"
    ports = attrs.evolve(FakePorts.seeded(), flows=SqliteFlowStore(database))  # type: ignore[arg-type]
    old = ports.engine(V1, PASSWORD_RECOVERY)
    at_form_flow = at_form(old)
    pending = at_form(old)
    old.send(pending, form_for())
    newer = FlowSnapshot(
        flow_id="x" * 22,
        flow=V2.name,
        flow_version=4,
        version=1,
        state="filling_form",
        created_at=CITIZEN_TIME,
        expires_at=CITIZEN_TIME,
        context={},
    )
    ports.flows.save(newer)

    assert main(["db", "verify", str(database)]) == 1

    out = capsys.readouterr().out
    assert "bhxh_registration\tv1\tfilling_form\t1\tv3 filling_form" in out
    assert "bhxh_registration\tv1\totp_pending\t1\tv1 otp_pending" in out
    assert "bhxh_registration\tv4\tfilling_form\t1\tCANNOT CONTINUE" in out
    assert (
        f"cannot continue: {'x' * 22} (bhxh_registration v4 filling_form): version_unknown" in out
    )
    assert "3 stored flow(s), 1 cannot continue" in out
    unchanged = ports.flows.load(at_form_flow)
    assert unchanged is not None
    assert unchanged.flow_version == 1


def test_db_verify_of_a_store_whose_flows_all_continue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "regflow.sqlite3"
    at_form(attrs.evolve(FakePorts.seeded(), flows=SqliteFlowStore(database)).engine())  # type: ignore[arg-type]

    assert main(["db", "verify", str(database)]) == 0
    assert "1 stored flow(s), 0 cannot continue" in capsys.readouterr().out


# --- the CMND/CCCD number of version 2 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "codes"),
    [
        ("", ("id_number.required",)),
        ("12345", ("id_number.invalid",)),
        ("999090000001", ("id_number.invalid",)),  # no province 999
        ("００１０９００１２３４５", ()),  # full-width digits
        ("001 090 012 345", ()),
    ],
)
def test_version_2_asks_for_a_valid_cmnd_or_cccd_number(typed: str, codes: tuple[str, ...]) -> None:
    ports = FakePorts.seeded()
    engine = ports.engine()
    flow_id = at_form(engine)

    view = engine.send(flow_id, form_for(id_number=typed))

    assert view.error_codes() == codes
    assert view.state is (State.FILLING_FORM if codes else State.OTP_PENDING)


def test_a_form_with_field_errors_reports_the_missing_number_with_them() -> None:
    engine = FakePorts.seeded().engine()

    view = engine.send(at_form(engine), form_for(bhxh_number="1", id_number=None))

    assert view.error_codes() == ("bhxh_number.invalid", "id_number.required")


def test_another_persons_number_is_a_data_mismatch() -> None:
    engine = FakePorts.seeded().engine()
    other = "079200000003"
    assert other != CITIZEN.id_number

    view = engine.send(at_form(engine), form_for(id_number=other))

    assert view.state is State.DATA_MISMATCH
    assert view.error_codes() == ("bhxh.data_mismatch",)


def test_diagram_refuses_a_snapshot_of_a_version_it_does_not_know(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = FakePorts.seeded()
    flow_id = at_form(ports.engine())
    document = {**codec.to_document(ports.flows.flows[flow_id]), "flow_version": 5}
    (tmp_path / "flow.json").write_text(json.dumps(document))

    assert main(["diagram", "--snapshot", str(tmp_path / "flow.json")]) == 2
    assert "its flow 'bhxh_registration' has no version 5 here" in capsys.readouterr().err


@attrs.frozen
class Later:
    """A context whose field's annotation is still text until cattrs first reads one."""

    when: datetime | None = None


def test_the_fingerprint_does_not_change_when_cattrs_first_reads_a_context() -> None:
    spec = attrs.evolve(_light(), context=Later)
    before = spec.fingerprint

    codec.plain(Later(when=CITIZEN_TIME))  # cattrs resolves the annotations in place

    assert spec.fingerprint == before


def test_a_flow_of_version_2_past_the_form_moves_to_version_3_and_meets_the_hosts_veto() -> None:
    """Version 3 only adds the host hook: every flow of version 2 moves onto it as it is."""
    ports = FakePorts.seeded()
    version_2_server = ports.engine(V2, V1, PASSWORD_RECOVERY)
    flow_id = at_form(version_2_server)
    version_2_server.send(flow_id, form_for())
    view = version_2_server.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    assert (view.state, ports.flows.flows[flow_id].flow_version) == (State.SETTING_PASSWORD, 2)

    ports.veto.refusing = True
    view = ports.engine().send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert ports.flows.flows[flow_id].flow_version == V3.version
    assert view.state is State.SETTING_PASSWORD
    assert view.error_codes() == ("account.creation_vetoed",)
    assert ports.veto.requests != []
