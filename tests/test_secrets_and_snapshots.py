"""Snapshots round-trip after every step; no OTP or password is ever stored or logged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from structlog.testing import capture_logs

from regflow import BHXH_REGISTRATION, ChooseMethod, ConfirmOtp, Engine, FlowSnapshot, SetPassword
from regflow.engine import codec as json_codec
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import STRONG_PASSWORD

if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping


def walk(engine: Engine, ports: FakePorts) -> list[FlowSnapshot]:
    """The whole happy path with one wrong code, keeping the snapshot after each step."""
    flow_id = engine.start("bhxh_registration").flow_id
    snapshots = [ports.flows.load(flow_id)]
    steps: list[Callable[[], object]] = [
        lambda: ChooseMethod("citizen", "bhxh"),
        form_for,
        lambda: ConfirmOtp("000000"),
        lambda: ConfirmOtp(ports.sms.last_code()),
        lambda: SetPassword(STRONG_PASSWORD, STRONG_PASSWORD),
    ]
    for step in steps:
        engine.send(flow_id, step())
        snapshots.append(ports.flows.load(flow_id))
    return [s for s in snapshots if s is not None]


def test_every_snapshot_round_trips_through_the_codec(engine: Engine, ports: FakePorts) -> None:
    snapshots = walk(engine, ports)

    assert [s.version for s in snapshots] == [1, 2, 3, 4, 5, 6]
    for snapshot in snapshots:
        reread = json_codec.loads(json_codec.dumps(snapshot))
        assert json_codec.typed(reread, BHXH_REGISTRATION) == snapshot


def test_no_otp_or_password_in_any_snapshot(engine: Engine, ports: FakePorts) -> None:
    snapshots = walk(engine, ports)
    codes = [ports.sms.last_code()]

    stored = " ".join(json_codec.dumps(s) for s in snapshots)

    assert STRONG_PASSWORD not in stored
    assert all(code not in stored for code in codes)


def logged(engine: Engine, ports: FakePorts) -> list[MutableMapping[str, Any]]:
    with capture_logs() as events:
        walk(engine, ports)
    return events


def test_one_event_per_transition_with_keys(engine: Engine, ports: FakePorts) -> None:
    events = [e for e in logged(engine, ports) if e["event"] == "flow.transition"]

    assert [(e["trigger"], e["source"], e["dest"]) for e in events] == [
        ("choose_method", "choosing_method", "filling_form"),
        ("submit_form", "filling_form", "otp_pending"),
        ("confirm_otp", "otp_pending", "otp_pending"),
        ("confirm_otp", "otp_pending", "setting_password"),
        ("set_password", "setting_password", "completed"),
    ]
    assert events[2]["rule"] == "otp_wrong"
    assert events[2]["errors"] == ["otp.invalid"]
    assert all(e["log_level"] == "info" and e["flow_id"] for e in events)


def test_logs_hold_no_secret_and_only_masked_numbers(engine: Engine, ports: FakePorts) -> None:
    text = repr(logged(engine, ports))

    assert STRONG_PASSWORD not in text
    assert ports.sms.last_code() not in text
    assert CITIZEN.phone not in text
    assert CITIZEN.phone[3:] not in text
    assert CITIZEN.id_number not in text
    assert CITIZEN.bhxh_number not in text
    assert "********2345" in text


def test_reprs_hide_codes_and_passwords_and_mask_personal_numbers() -> None:
    shown = " ".join(
        repr(value)
        for value in (CITIZEN, form_for(), ConfirmOtp("987654"), SetPassword("Ab1!x", "Ab1!x"))
    )

    assert "987654" not in shown
    assert "Ab1!x" not in shown
    for number in (CITIZEN.phone, "0912345678", CITIZEN.id_number, CITIZEN.bhxh_number):
        assert number not in shown
    assert "******6789" in shown  # enough of the BHXH number to tell records apart
