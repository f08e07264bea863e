"""The password recovery ("Quên mật khẩu"): login → OTP → new password, telling nobody who
has an account."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import (
    PASSWORD_RECOVERY,
    Account,
    BhxhRecord,
    ConfirmOtp,
    Engine,
    FlowView,
    Policy,
    RateLimit,
    RateLimits,
    RecoveryState,
    ResendOtp,
    SetPassword,
    SubmitLogin,
)
from regflow.adapters.argon2 import Argon2Hasher
from regflow.testing import CITIZEN, FakePorts

from .conftest import STRONG_PASSWORD

if TYPE_CHECKING:
    from datetime import timedelta

R = RecoveryState
NEW_PASSWORD = "Mới-tinh-2B!"
OLD_PASSWORD = "Cũ-rồi-1A!"
#: A CCCD no account has (Hà Nội's province code 001, born 1990).
STRANGER = "001090099999"


def give_account(ports: FakePorts, record: BhxhRecord = CITIZEN) -> None:
    """The citizen of `record` has an account, whose password is `OLD_PASSWORD`."""
    account = Account.for_citizen(
        record, account_id="account-1", email=None, created_at=ports.clock.now(), flow_id="f"
    )
    ports.users.add(account, ports.hasher.hash(OLD_PASSWORD))


@pytest.fixture
def ports() -> FakePorts:
    ports = FakePorts.seeded()
    give_account(ports)
    return ports


@pytest.fixture
def engine(ports: FakePorts) -> Engine:
    return ports.engine(limiter=ports.limiter)


def at_otp(engine: Engine, login: str = CITIZEN.id_number) -> FlowView:
    view = engine.send(engine.start(PASSWORD_RECOVERY.name).flow_id, SubmitLogin(login))
    assert view.state is R.OTP_PENDING, view.errors
    return view


def password_works(ports: FakePorts, password: str) -> bool:
    account = ports.users.find_by_login(CITIZEN.id_number)
    assert account is not None
    stored = ports.users.password_hash(account.account_id)
    return stored is not None and ports.hasher.verify(stored, password)


def test_a_citizen_recovers_the_password_and_the_old_one_stops_working(
    engine: Engine, ports: FakePorts
) -> None:
    start = engine.start(PASSWORD_RECOVERY.name)
    otp = engine.send(start.flow_id, SubmitLogin(CITIZEN.id_number))
    confirmed = engine.send(otp.flow_id, ConfirmOtp(ports.sms.last_code(CITIZEN.phone)))
    done = engine.send(otp.flow_id, SetPassword(NEW_PASSWORD, NEW_PASSWORD))

    assert (start.flow, start.state) == ("password_recovery", R.ENTERING_LOGIN)
    assert start.allowed_events == {"submit_login"}
    assert otp.state is R.OTP_PENDING
    assert confirmed.state is R.SETTING_PASSWORD
    assert done.state is R.COMPLETED, done.errors
    assert done.account is not None
    assert done.account.id_number == CITIZEN.id_number
    assert password_works(ports, NEW_PASSWORD)
    assert not password_works(ports, OLD_PASSWORD)


@pytest.mark.parametrize(
    "typed",
    ["001 090 012 345", "００１０９００１２３４５", " 001090012345 "],
    ids=["spaced", "full-width", "padded"],
)
def test_a_login_typed_in_groups_or_full_width_finds_the_account(
    engine: Engine, ports: FakePorts, typed: str
) -> None:
    at_otp(engine, typed)

    assert ports.sms.last_code(CITIZEN.phone)


def test_a_former_cmnd_finds_the_account_too() -> None:
    ports = FakePorts.seeded()
    give_account(ports, attrs.evolve(CITIZEN, former_id_numbers=("013579246",)))
    engine = ports.engine()

    at_otp(engine, "013579246")

    assert [sms.phone for sms in ports.sms.sent] == [CITIZEN.phone]


def _answer(view: FlowView) -> tuple[object, ...]:
    """Everything the page can show of a view, but the flow's own id and times."""
    return (
        view.state,
        view.errors,
        view.allowed_events,
        view.phone_hint,
        view.otp_sends_left,
        view.otp_attempts_left,
        view.otp_expires_at,
        view.resend_available_at,
        view.details,
    )


def test_an_unknown_login_is_answered_as_a_known_one_and_nothing_is_sent(
    engine: Engine, ports: FakePorts
) -> None:
    known = at_otp(engine)
    unknown = at_otp(engine, STRANGER)

    assert _answer(unknown) == _answer(known)
    assert known.phone_hint is None  # a masked phone would tell that an account exists
    assert [sms.phone for sms in ports.sms.sent] == [CITIZEN.phone]


def test_every_code_of_a_decoy_is_wrong_and_locks_like_a_real_one(
    engine: Engine, ports: FakePorts
) -> None:
    known, unknown = at_otp(engine), at_otp(engine, STRANGER)
    real = ports.sms.last_code(CITIZEN.phone)
    wrong = "000000" if real != "000000" else "111111"

    answers = [
        (
            _answer(engine.send(known.flow_id, ConfirmOtp(wrong))),
            _answer(engine.send(unknown.flow_id, ConfirmOtp(code))),
        )
        for code in [wrong, real, wrong, wrong, wrong]
    ]

    assert all(a == b for a, b in answers)
    assert answers[-1][0][0] is R.LOCKED


def test_a_resend_of_a_decoy_looks_like_a_real_one(engine: Engine, ports: FakePorts) -> None:
    known, unknown = at_otp(engine), at_otp(engine, STRANGER)
    ports.clock.advance(engine.policy.otp_resend_after)

    resent = (engine.send(known.flow_id, ResendOtp()), engine.send(unknown.flow_id, ResendOtp()))

    assert _answer(resent[0]) == _answer(resent[1])
    assert resent[0].otp_sends_left == engine.policy.otp_max_sends - 2
    assert [sms.phone for sms in ports.sms.sent] == [CITIZEN.phone] * 2


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "login.required"),
        ("   ", "login.required"),
        ("12345678", "login.invalid"),
        ("0123456789", "login.invalid"),  # a BHXH number's 10 digits
        ("999090012345", "login.invalid"),  # no province has code 999
        ("00109001234a", "login.invalid"),
        ("\ud800" * 12, "login.invalid"),
        ("1" * 100_000, "login.invalid"),
        ("001090012345\x00", "login.invalid"),
    ],
    ids=["empty", "spaces", "8 digits", "10 digits", "no province", "letter", "surrogates",
         "huge", "nul"],
)  # fmt: skip
def test_a_login_that_is_no_cmnd_or_cccd_is_refused_on_its_field(
    engine: Engine, ports: FakePorts, typed: str, code: str
) -> None:
    flow_id = engine.start(PASSWORD_RECOVERY.name).flow_id

    view = engine.send(flow_id, SubmitLogin(typed))

    assert view.state is R.ENTERING_LOGIN
    assert [(error.code, error.field) for error in view.errors] == [(code, "login")]
    assert view.errors[0].message.vi
    assert view.errors[0].message.en
    assert ports.sms.sent == []


def test_a_login_that_is_no_text_is_refused() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine()
    flow_id = engine.start(PASSWORD_RECOVERY.name).flow_id

    view = engine.send(flow_id, SubmitLogin(12345))  # type: ignore[arg-type]

    assert view.error_codes() == ("login.invalid",)


def _limited(ports: FakePorts, **limits: tuple[RateLimit, ...]) -> Engine:
    policy = Policy(rate_limits=attrs.evolve(RateLimits(), **limits))
    return ports.engine(policy=policy, limiter=ports.limiter)


def test_one_client_may_ask_only_so_many_recoveries(ports: FakePorts) -> None:
    engine = _limited(ports, recoveries_per_client=(RateLimit(2, _hour()),))

    views = [
        engine.send(engine.start(PASSWORD_RECOVERY.name).flow_id, SubmitLogin(login), client="c")
        for login in [STRANGER, CITIZEN.id_number, CITIZEN.id_number]
    ]
    other = engine.send(
        engine.start(PASSWORD_RECOVERY.name).flow_id, SubmitLogin(CITIZEN.id_number), client="d"
    )

    assert [view.state for view in views] == [R.OTP_PENDING, R.OTP_PENDING, R.ENTERING_LOGIN]
    assert views[-1].error_codes() == ("recovery.rate_limited",)
    assert views[-1].errors[0].retry_at is not None
    assert other.state is R.OTP_PENDING


def test_a_login_asked_too_often_gets_decoys_and_the_phone_no_more_texts(
    ports: FakePorts,
) -> None:
    """Whoever asks, the account's phone is not flooded; the answer still looks the same."""
    engine = _limited(ports, recoveries_per_login=(RateLimit(1, _hour()),))

    first, second = at_otp(engine), at_otp(engine)

    assert _answer(first) == _answer(second)
    assert len(ports.sms.sent) == 1
    code = ports.sms.last_code(CITIZEN.phone)
    assert engine.send(second.flow_id, ConfirmOtp(code)).error_codes() == ("otp.invalid",)


def test_a_phone_with_no_texts_left_gets_a_decoy_and_no_error(ports: FakePorts) -> None:
    engine = _limited(ports, otp_sends_per_phone=(RateLimit(1, _hour()),))

    first, second = at_otp(engine), at_otp(engine)

    assert _answer(first) == _answer(second)
    assert len(ports.sms.sent) == 1


def test_a_failed_text_is_not_told_and_a_resend_heals_it(engine: Engine, ports: FakePorts) -> None:
    ports.sms.fail_next()
    view = at_otp(engine)
    ports.clock.advance(engine.policy.otp_resend_after)

    resent = engine.send(view.flow_id, ResendOtp())
    done = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code(CITIZEN.phone)))

    assert view.ok  # as a decoy's would be
    assert resent.ok
    assert done.state is R.SETTING_PASSWORD


def test_wrong_codes_count_with_the_registration_s_against_the_citizen(ports: FakePorts) -> None:
    """The cap across flows on wrong codes is one citizen's, whichever flow they came in."""
    engine = _limited(ports, otp_failures_per_citizen=(RateLimit(1, _hour()),))
    view = at_otp(engine)
    engine.send(view.flow_id, ConfirmOtp("000000" if ports.sms.last_code() != "000000" else "1"))

    right = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code(CITIZEN.phone)))

    assert right.state is R.OTP_PENDING  # a probed flow never says the cap stopped it
    assert right.error_codes() == ("otp.invalid",)


def test_the_new_password_is_held_to_the_registration_s_policy(
    engine: Engine, ports: FakePorts
) -> None:
    view = at_otp(engine)
    engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code(CITIZEN.phone)))

    weak = engine.send(view.flow_id, SetPassword("matkhau", "matkhau"))
    unequal = engine.send(view.flow_id, SetPassword(NEW_PASSWORD, STRONG_PASSWORD))

    assert weak.state is R.SETTING_PASSWORD
    assert "password.too_short" in weak.error_codes()
    assert unequal.error_codes() == ("password.mismatch",)
    assert password_works(ports, OLD_PASSWORD)


def test_an_account_gone_before_the_new_password_is_a_storage_failure(
    engine: Engine, ports: FakePorts
) -> None:
    view = at_otp(engine)
    engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code(CITIZEN.phone)))
    ports.users.accounts.clear()
    ports.users.password_hashes.clear()

    failed = engine.send(view.flow_id, SetPassword(NEW_PASSWORD, NEW_PASSWORD))

    assert failed.state is R.SETTING_PASSWORD
    assert failed.error_codes() == ("storage.unavailable",)
    assert failed.retryable


def test_a_recovery_ends_after_its_lifetime(engine: Engine, ports: FakePorts) -> None:
    view = at_otp(engine)
    ports.clock.advance(PASSWORD_RECOVERY.lifetime_under(engine.policy))

    expired = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code(CITIZEN.phone)))
    again = engine.send(view.flow_id, ResendOtp())

    assert expired.state is R.EXPIRED
    assert expired.error_codes() == ("flow.expired",)
    assert again.error_codes() == ("flow.expired",)


def test_the_real_hasher_verifies_only_the_new_password(ports: FakePorts) -> None:
    hasher = Argon2Hasher()
    engine = Engine(
        PASSWORD_RECOVERY,
        sms=ports.sms,
        users=ports.users,
        hasher=hasher,
        flows=ports.flows,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
    )
    view = at_otp(engine)
    engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code(CITIZEN.phone)))
    engine.send(view.flow_id, SetPassword(NEW_PASSWORD, NEW_PASSWORD))

    account = ports.users.find_by_login(CITIZEN.id_number)
    assert account is not None
    stored = ports.users.password_hash(account.account_id)
    assert stored is not None
    assert hasher.verify(stored, NEW_PASSWORD)
    assert not hasher.verify(stored, OLD_PASSWORD)


def _hour() -> timedelta:
    from datetime import timedelta  # noqa: PLC0415 - typing-only at module level

    return timedelta(hours=1)
