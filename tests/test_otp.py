"""Step 4 of the seed: the OTP — confirm, wrong code, expiry, resend, limits, SMS failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from regflow import ConfirmOtp, Engine, FlowSnapshot, Policy, ResendOtp, State
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import at_form, at_otp


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_otp_has_six_digits_and_a_five_minute_life(engine: Engine, ports: FakePorts) -> None:
    view = at_otp(engine)
    code = ports.sms.last_code(CITIZEN.phone)

    assert len(code) == 6
    assert code.isdigit()
    assert view.otp_expires_at == ports.clock.now() + timedelta(minutes=5)
    assert view.resend_available_at == ports.clock.now() + timedelta(seconds=60)
    assert view.otp_sends_left == 4


def test_the_right_code_leads_to_the_password_screen(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_otp(engine).flow_id

    view = engine.send(flow_id, ConfirmOtp(f" {ports.sms.last_code()} "))

    assert view.state is State.SETTING_PASSWORD
    assert view.ok
    assert view.allowed_events == {"set_password"}


def test_a_code_works_once(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_otp(engine).flow_id
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))

    again = engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))

    assert again.error_codes() == ("event.not_allowed",)
    assert ports.flows.load(flow_id).context.otp is None  # type: ignore[union-attr]


def test_a_wrong_code_is_refused_and_counted(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_otp(engine).flow_id

    view = engine.send(flow_id, ConfirmOtp(wrong(ports.sms.last_code())))

    assert view.state is State.OTP_PENDING
    assert view.error_codes() == ("otp.invalid",)
    assert view.errors[0].field == "code"
    assert ports.flows.load(flow_id).context.otp_failures == 1  # type: ignore[union-attr]


def test_malformed_codes_are_wrong_codes(engine: Engine) -> None:
    flow_id = at_otp(engine).flow_id

    for typed in ("12345", "1234567", "abcdef", "１２３４５６", None):
        view = engine.send(flow_id, ConfirmOtp(typed))  # type: ignore[arg-type]
        assert view.error_codes() in {("otp.invalid",), ("otp.too_many_attempts",)}

    assert engine.view(flow_id).state is State.LOCKED


def test_the_fifth_wrong_code_locks_even_the_right_code_out(
    engine: Engine, ports: FakePorts
) -> None:
    flow_id = at_otp(engine).flow_id
    code = ports.sms.last_code()
    for _ in range(4):
        assert engine.send(flow_id, ConfirmOtp(wrong(code))).state is State.OTP_PENDING

    locked = engine.send(flow_id, ConfirmOtp(wrong(code)))
    after = engine.send(flow_id, ConfirmOtp(code))

    assert locked.state is State.LOCKED
    assert locked.error_codes() == ("otp.too_many_attempts",)
    assert after.error_codes() == ("flow.locked",)


def test_a_wrong_code_on_the_last_attempt_with_a_right_one_still_passes(
    ports: FakePorts,
) -> None:
    engine = ports.engine(policy=Policy(otp_max_attempts=2))
    flow_id = at_otp(engine).flow_id
    code = ports.sms.last_code()
    engine.send(flow_id, ConfirmOtp(wrong(code)))

    assert engine.send(flow_id, ConfirmOtp(code)).state is State.SETTING_PASSWORD


def test_an_expired_code_moves_to_the_expired_state_where_only_resend_leads_on(
    engine: Engine, ports: FakePorts
) -> None:
    flow_id = at_otp(engine).flow_id
    code = ports.sms.last_code()
    ports.clock.advance(minutes=5)

    expired = engine.send(flow_id, ConfirmOtp(code))
    still = engine.send(flow_id, ConfirmOtp(code))

    assert expired.state is State.OTP_EXPIRED
    assert expired.error_codes() == ("otp.expired",)
    assert expired.allowed_events == {"confirm_otp", "resend_otp"}
    assert still.state is State.OTP_EXPIRED
    assert still.error_codes() == ("otp.expired",)


def test_resend_issues_a_new_code_and_the_old_one_stops_working(
    engine: Engine, ports: FakePorts
) -> None:
    flow_id = at_otp(engine).flow_id
    old = ports.sms.last_code()
    ports.clock.advance(seconds=60)

    resent = engine.send(flow_id, ResendOtp())
    new = ports.sms.last_code()

    assert resent.state is State.OTP_PENDING
    assert resent.ok
    assert len(ports.sms.sent) == 2
    if old != new:  # one chance in a million that the new code equals the old one
        assert engine.send(flow_id, ConfirmOtp(old)).error_codes() == ("otp.invalid",)
    assert engine.send(flow_id, ConfirmOtp(new)).state is State.SETTING_PASSWORD


def test_resend_after_expiry_leads_back_to_confirm(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_otp(engine).flow_id
    ports.clock.advance(minutes=6)
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))

    resent = engine.send(flow_id, ResendOtp())

    assert resent.state is State.OTP_PENDING
    assert resent.otp_expires_at == ports.clock.now() + timedelta(minutes=5)
    assert engine.send(flow_id, ConfirmOtp(ports.sms.last_code())).state is (State.SETTING_PASSWORD)


def test_resend_too_soon_says_when_it_becomes_available(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_otp(engine).flow_id
    ports.clock.advance(seconds=59)

    view = engine.send(flow_id, ResendOtp())

    assert view.error_codes() == ("otp.resend_too_soon",)
    assert view.errors[0].retry_at == ports.clock.now() + timedelta(seconds=1)
    assert len(ports.sms.sent) == 1


def test_at_most_five_sends_per_flow(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_otp(engine).flow_id
    for _ in range(4):
        ports.clock.advance(seconds=60)
        assert engine.send(flow_id, ResendOtp()).ok

    ports.clock.advance(seconds=60)
    view = engine.send(flow_id, ResendOtp())

    assert view.error_codes() == ("otp.send_limit",)
    assert view.otp_sends_left == 0
    assert len(ports.sms.sent) == 5


def test_a_new_code_does_not_reset_the_wrong_entries_of_the_flow(ports: FakePorts) -> None:
    """At most `otp_max_attempts` wrong entries per flow, however many codes were sent."""
    engine = ports.engine(policy=Policy(otp_max_attempts=2))
    flow_id = at_otp(engine).flow_id
    engine.send(flow_id, ConfirmOtp(wrong(ports.sms.last_code())))
    ports.clock.advance(seconds=60)
    engine.send(flow_id, ResendOtp())

    view = engine.send(flow_id, ConfirmOtp(wrong(ports.sms.last_code())))

    assert view.state is State.LOCKED
    assert view.error_codes() == ("otp.too_many_attempts",)


def test_confirming_an_expired_code_after_the_clock_stepped_back_says_nothing_happened(
    engine: Engine, ports: FakePorts
) -> None:
    flow_id = at_otp(engine).flow_id
    code = ports.sms.last_code()
    ports.clock.advance(minutes=5)
    expired = engine.send(flow_id, ConfirmOtp(code))
    ports.clock.advance(minutes=-1)  # the host's clock is set back: the code looks alive

    view = engine.send(flow_id, ConfirmOtp(code))

    assert view.state is State.OTP_EXPIRED
    assert view.version == expired.version  # nothing was saved
    assert view.error_codes() == ("event.no_effect",)
    assert not view.ok
    assert not view.retryable


def test_sms_down_is_logged_as_a_port_failure(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_form(engine).flow_id
    ports.sms.fail_next()

    with capture_logs() as logs:
        engine.send(flow_id, form_for())

    [failure] = [entry for entry in logs if entry["event"] == "flow.port_failed"]
    assert failure == {
        "event": "flow.port_failed",
        "log_level": "warning",
        "flow_id": flow_id,
        "trigger": "submit_form",
        "port": "sms",
        "error_type": "ConnectionError",
    }


def test_sms_down_at_the_match_leaves_a_resumable_flow(engine: Engine, ports: FakePorts) -> None:
    ports.sms.fail_next()

    view = engine.send(at_form(engine).flow_id, form_for())

    assert view.state is State.OTP_PENDING
    assert view.error_codes() == ("sms.unavailable",)
    assert view.retryable
    assert view.resend_available_at is None
    confirm = engine.send(view.flow_id, ConfirmOtp("123456"))
    assert confirm.error_codes() == ("otp.not_sent",)
    assert engine.send(view.flow_id, ResendOtp()).ok
    assert engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code())).state is (
        State.SETTING_PASSWORD
    )


def test_sms_down_on_resend_does_not_use_up_a_send(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_otp(engine).flow_id
    ports.clock.advance(seconds=60)
    ports.sms.fail_next()

    failed = engine.send(flow_id, ResendOtp())
    retried = engine.send(flow_id, ResendOtp())

    assert failed.error_codes() == ("sms.unavailable",)
    assert retried.ok
    assert retried.otp_sends_left == 3


def test_of_two_racing_resends_only_the_one_that_saved_sends_a_text(ports: FakePorts) -> None:
    """The text goes out after the save: a request that loses the race sends nothing."""
    engine = ports.engine()
    flow_id = at_otp(engine).flow_id
    ports.clock.advance(seconds=60)
    healthy = ports.flows
    stale = healthy.load(flow_id)

    class LosesTheRaceOnce:
        """The first load is from before the rival's resend was saved."""

        loads = 0

        def load(self, flow_id: str) -> FlowSnapshot | None:
            self.loads += 1
            return stale if self.loads == 1 else healthy.load(flow_id)

        def save(self, snapshot: FlowSnapshot) -> None:
            healthy.save(snapshot)

        def purge_expired(self, now: datetime) -> int:
            return healthy.purge_expired(now)

    rival = engine.send(flow_id, ResendOtp())
    ports.flows = LosesTheRaceOnce()  # type: ignore[assignment]
    loser = ports.engine().send(flow_id, ResendOtp())

    assert rival.ok
    assert loser.error_codes() == ("otp.resend_too_soon",)
    assert len(ports.sms.sent) == 2  # the first code and the rival's resend, nothing more
    assert healthy.load(flow_id).context.otp_sends == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("confirmed_at", "state"),
    [
        (datetime(2026, 1, 1, 8, 4, 59, 999_999, tzinfo=UTC), State.SETTING_PASSWORD),
        (datetime(2026, 1, 1, 8, 5, tzinfo=UTC), State.OTP_EXPIRED),
    ],
)
def test_the_code_stops_working_at_the_whole_second_of_otp_expires_at(
    ports: FakePorts, confirmed_at: datetime, state: State
) -> None:
    ports.clock.set(datetime(2026, 1, 1, 8, 0, 0, 999_999, tzinfo=UTC))  # the fraction is dropped
    engine = ports.engine()
    sent = at_otp(engine)
    assert sent.otp_expires_at == datetime(2026, 1, 1, 8, 5, tzinfo=UTC)
    ports.clock.set(confirmed_at)

    view = engine.send(sent.flow_id, ConfirmOtp(ports.sms.last_code()))

    assert view.state is state
