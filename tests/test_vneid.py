"""The registration by VNeID on the fake platform: each refusal with its own code, the
request's secrets kept server-side, the link of an existing account, the host's policy, and
odd callbacks that must not raise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regflow import (
    ERRORS,
    SHIPPED_FLOWS,
    VNEID_REGISTRATION,
    Account,
    BeginVneid,
    ConfirmOtp,
    FlowView,
    LinkByOtp,
    LinkByPassword,
    Policy,
    SetPassword,
    SkipPassword,
    VneidCallback,
    VneidPassword,
    VneidState,
    bootstrap,
)
from regflow.ports.identity import Refusal
from regflow.testing import CITIZEN, STRONG_PASSWORD, VNEID_CITIZEN, FakePorts

if TYPE_CHECKING:
    from pathlib import Path

    from regflow import Engine

V = VneidState


@pytest.fixture
def ports() -> FakePorts:
    return FakePorts.seeded()


def engine_of(ports: FakePorts, **policy: object) -> Engine:
    return ports.engine(VNEID_REGISTRATION, policy=Policy(**policy))  # type: ignore[arg-type]


def awaiting(engine: Engine) -> str:
    flow_id = engine.start("vneid_registration").flow_id
    assert engine.send(flow_id, BeginVneid()).state is V.AWAITING_CALLBACK
    return flow_id


def give_account(ports: FakePorts, level: int = 1, password: str | None = STRONG_PASSWORD) -> None:
    account = Account.for_citizen(
        CITIZEN, account_id="old", email=None, created_at=ports.clock.now(), flow_id="bhxh"
    )
    hashed = None if password is None else ports.hasher.hash(password)
    ports.users.add(attrs.evolve(account, verification_level=level), hashed)


# --- the callback's refusals ----------------------------------------------------------------


def test_a_forged_state_changes_nothing_and_the_real_callback_still_works(
    ports: FakePorts,
) -> None:
    engine = engine_of(ports)
    flow_id = awaiting(engine)
    real = ports.identity.approve()

    forged = engine.send(flow_id, attrs.evolve(real, state="forged"))

    assert forged.error_codes() == ("vneid.state_mismatch",)
    assert forged.state is V.AWAITING_CALLBACK
    assert engine.send(flow_id, real).state is V.SETTING_PASSWORD


def test_a_forged_cancel_cannot_end_a_sign_in(ports: FakePorts) -> None:
    engine = engine_of(ports)
    flow_id = awaiting(engine)

    view = engine.send(flow_id, VneidCallback(error="access_denied"))

    assert view.error_codes() == ("vneid.state_mismatch",)
    assert view.state is V.AWAITING_CALLBACK


@pytest.mark.parametrize(
    ("callback", "code"),
    [
        (lambda p: p.identity.cancel(), "vneid.cancelled"),
        (lambda p: attrs.evolve(p.identity.cancel(), error="server_error"), "vneid.platform_error"),
        (lambda p: attrs.evolve(p.identity.approve(), code=None), "vneid.code_rejected"),
        (lambda p: attrs.evolve(p.identity.approve(), code="x" * 5000), "vneid.code_rejected"),
        (lambda p: attrs.evolve(p.identity.approve(), code="mã\x00"), "vneid.code_rejected"),
        (lambda p: attrs.evolve(p.identity.approve(), code="never-issued"), "vneid.code_rejected"),
    ],
    ids=["cancelled", "platform-error", "no-code", "huge-code", "odd-code", "unknown-code"],
)
def test_a_refused_callback_sends_the_citizen_back_to_the_start(
    ports: FakePorts, callback: object, code: str
) -> None:
    engine = engine_of(ports)
    flow_id = awaiting(engine)

    view = engine.send(flow_id, callback(ports))  # type: ignore[operator]

    assert view.error_codes() == (code,)
    assert view.state is V.READY
    assert ports.flows.flows[flow_id].context.code_verifier is None  # the request is spent


@pytest.mark.parametrize("refusal", list(Refusal))
def test_the_platform_s_refusals_have_their_own_codes(ports: FakePorts, refusal: Refusal) -> None:
    engine = engine_of(ports)
    flow_id = awaiting(engine)
    ports.identity.refuse_next(refusal)

    view = engine.send(flow_id, ports.identity.approve())

    assert view.error_codes() == (f"vneid.{refusal.value}",)
    assert view.state is V.READY


def test_a_code_works_once(ports: FakePorts) -> None:
    engine = engine_of(ports)
    flow_id = awaiting(engine)
    callback = ports.identity.approve()
    engine.send(flow_id, attrs.evolve(callback, error="server_error"))
    engine.send(flow_id, BeginVneid())

    view = engine.send(flow_id, attrs.evolve(callback, state=ports.identity.last_state))

    assert view.error_codes() == ("vneid.code_rejected",)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"level": 1}, "vneid.level_too_low"),
        ({"phone": "02438123456"}, "vneid.identity_invalid"),
        ({"id_number": "012345678"}, "vneid.identity_invalid"),
        ({"id_number": "001290012345"}, "vneid.identity_invalid"),  # born in the 2000s
        ({"full_name": "Nguyễn 1"}, "vneid.identity_invalid"),
    ],
)
def test_an_identity_the_portal_cannot_take_is_refused(
    ports: FakePorts, changes: dict[str, Any], code: str
) -> None:
    engine = engine_of(ports)
    flow_id = awaiting(engine)

    view = engine.send(flow_id, ports.identity.approve(attrs.evolve(VNEID_CITIZEN, **changes)))

    assert view.error_codes() == (code,)
    assert view.state is V.READY


def test_a_host_may_take_level_1(ports: FakePorts) -> None:
    engine = engine_of(ports, vneid_min_level=1)
    flow_id = awaiting(engine)
    engine.send(flow_id, ports.identity.approve(attrs.evolve(VNEID_CITIZEN, level=1)))

    view = engine.send(flow_id, SkipPassword())

    assert view.account is not None
    assert view.account.verification_level == 1  # never more than the platform said


def test_the_platform_down_is_retryable_and_changes_nothing(ports: FakePorts) -> None:
    class Down:
        def authorization_url(self, **_: str) -> str:
            raise TimeoutError

    engine = ports.engine(VNEID_REGISTRATION, ports={"identity": Down()})
    flow_id = engine.start("vneid_registration").flow_id

    view = engine.send(flow_id, BeginVneid())

    assert view.error_codes() == ("identity.unavailable",)
    assert view.retryable
    assert view.state is V.READY


@pytest.mark.parametrize(
    "odd",
    ["\ud800", "\x00", "é" * 10_000, "", " ", "%00", "a\nb"],
    ids=["surrogate", "nul", "huge", "empty", "space", "percent", "newline"],
)
def test_odd_strings_in_any_field_of_the_callback_never_raise(ports: FakePorts, odd: str) -> None:
    engine = engine_of(ports)
    for field in ("code", "state", "error"):
        flow_id = awaiting(engine)
        callback = attrs.evolve(ports.identity.approve(), **{field: odd})
        view = engine.send(flow_id, callback)
        assert view.errors, field
        assert view.state in (V.READY, V.AWAITING_CALLBACK)


# --- secrets ------------------------------------------------------------------------------------


def test_the_request_s_secrets_are_never_in_the_view_or_the_log(ports: FakePorts) -> None:
    engine = engine_of(ports)
    lines: list[str] = []
    with structlog.testing.capture_logs() as logged:
        flow_id = awaiting(engine)
        view = engine.send(flow_id, BeginVneid())
        context = ports.flows.flows[flow_id].context
        engine.send(flow_id, ports.identity.approve())
    lines.extend(repr(entry) for entry in logged)
    secrets = (context.code_verifier, context.nonce, context.auth_state)
    assert all(secret for secret in secrets)
    shown = repr(view) + repr(context) + "".join(lines)
    assert not [secret for secret in secrets if secret in shown]
    # the URL carries state and nonce to the platform, as it must; never the verifier
    assert context.code_verifier not in (view.details.authorization_url or "")


# --- the link and the new account ----------------------------------------------------------


def linking(ports: FakePorts, engine: Engine) -> str:
    flow_id = awaiting(engine)
    view = engine.send(flow_id, ports.identity.approve())
    assert view.state is V.LINKING
    assert view.phone_hint is not None
    assert CITIZEN.phone not in view.phone_hint
    return flow_id


def test_a_linked_account_is_verified_and_its_level_raised(ports: FakePorts) -> None:
    give_account(ports, level=1)
    engine = engine_of(ports)
    flow_id = linking(ports, engine)

    view = engine.send(flow_id, LinkByPassword(STRONG_PASSWORD))

    assert view.state is V.COMPLETED
    stored = ports.users.accounts["old"]
    assert (stored.verification_level, stored.vneid_verified_at) == (2, ports.clock.now())
    assert view.account == stored


def test_wrong_passwords_lock_the_link(ports: FakePorts) -> None:
    give_account(ports)
    engine = engine_of(ports, otp_max_attempts=2)
    flow_id = linking(ports, engine)

    first = engine.send(flow_id, LinkByPassword("Sai-mat-khau-1"))
    second = engine.send(flow_id, LinkByPassword("Sai-mat-khau-1"))

    assert first.error_codes() == ("vneid.password_wrong",)
    assert second.error_codes() == ("vneid.too_many_wrong_passwords",)
    assert second.state is V.LOCKED
    assert ports.users.accounts["old"].vneid_verified_at is None


def test_an_account_without_a_password_is_linked_by_otp(ports: FakePorts) -> None:
    give_account(ports, password=None)
    engine = engine_of(ports)
    flow_id = linking(ports, engine)

    refused = engine.send(flow_id, LinkByPassword(STRONG_PASSWORD))
    engine.send(flow_id, LinkByOtp())
    view = engine.send(flow_id, ConfirmOtp(ports.sms.last_code(CITIZEN.phone)))

    assert refused.error_codes() == ("vneid.no_password",)
    assert view.state is V.COMPLETED
    assert ports.users.accounts["old"].vneid_verified_at == ports.clock.now()


def setting_password(ports: FakePorts, engine: Engine) -> str:
    flow_id = awaiting(engine)
    assert engine.send(flow_id, ports.identity.approve()).state is V.SETTING_PASSWORD
    return flow_id


@pytest.mark.parametrize(
    ("policy", "event", "code"),
    [
        (VneidPassword.REQUIRED, SkipPassword(), "vneid.password_required"),
        (
            VneidPassword.NONE,
            SetPassword(STRONG_PASSWORD, STRONG_PASSWORD),
            "vneid.password_not_offered",
        ),
    ],
)
def test_the_host_s_password_policy_holds(
    ports: FakePorts, policy: VneidPassword, event: object, code: str
) -> None:
    engine = engine_of(ports, vneid_password=policy)
    flow_id = setting_password(ports, engine)

    view = engine.send(flow_id, event)

    assert view.error_codes() == (code,)
    assert view.state is V.SETTING_PASSWORD
    assert ports.users.accounts == {}


def test_a_new_account_with_a_password_signs_in_by_it(ports: FakePorts) -> None:
    engine = engine_of(ports, vneid_password="required")
    flow_id = setting_password(ports, engine)

    view = engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert view.account is not None
    assert (view.account.source, view.account.bhxh_number) == ("vneid", CITIZEN.id_number)
    hashed = ports.users.password_hash(view.account.account_id)
    assert hashed is not None
    assert ports.hasher.verify(hashed, STRONG_PASSWORD)


def test_an_account_made_meanwhile_is_linked_not_doubled(ports: FakePorts) -> None:
    engine = engine_of(ports)
    flow_id = setting_password(ports, engine)
    give_account(ports)

    view = engine.send(flow_id, SkipPassword())

    assert view.state is V.LINKING
    assert view.error_codes() == ("vneid.account_exists",)
    assert list(ports.users.accounts) == ["old"]


def test_the_view_of_each_screen(ports: FakePorts) -> None:
    engine = engine_of(ports)
    flow_id = awaiting(engine)
    assert isinstance(engine.view(flow_id), FlowView)
    view = engine.send(flow_id, ports.identity.approve())
    assert view.details.full_name == CITIZEN.full_name
    assert view.details.password is VneidPassword.OPTIONAL
    assert view.details.authorization_url is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(["code", "state", "error"]),
    value=st.one_of(st.none(), st.text(), st.binary(), st.integers(), st.text(min_size=3000)),
)
def test_any_value_in_the_callback_gets_a_catalogued_answer(field: str, value: object) -> None:
    ports = FakePorts.seeded()
    engine = engine_of(ports)
    flow_id = awaiting(engine)

    odd = attrs.evolve(ports.identity.approve(), **{field: value})  # type: ignore[arg-type]
    view = engine.send(flow_id, odd)

    assert set(view.error_codes()) <= set(ERRORS) | {e.code for e in VNEID_REGISTRATION.errors}
    assert engine.view(flow_id).state is view.state


def test_bootstrap_runs_the_vneid_registration_when_given_a_platform(tmp_path: Path) -> None:
    ports = FakePorts.seeded()
    wiring = {"bhxh": ports.bhxh, "sms": ports.sms, "otp_secret": ports.otp_secret}
    without = bootstrap(**wiring, database=tmp_path / "a.sqlite3")  # type: ignore[arg-type]
    given = bootstrap(
        **wiring,  # type: ignore[arg-type]
        database=tmp_path / "b.sqlite3",
        ports={"identity": ports.identity},
    )

    assert {spec.name for spec in without.flows} == {"bhxh_registration", "password_recovery"}
    assert {spec.name for spec in given.flows} == {spec.name for spec in SHIPPED_FLOWS}
