"""The view warns the citizen before a lock: how many codes and forms are left to try."""

from __future__ import annotations

from regflow import ConfirmOtp, Engine, Policy, ResendOtp, State
from regflow.testing import FakePorts, form_for

from .conftest import at_form, at_otp, at_password
from .test_otp import wrong

MISMATCH = form_for(phone="0912345679")


def test_each_mismatch_counts_down_to_the_lock(engine: Engine) -> None:
    form = at_form(engine)
    assert form.details.mismatches_left == 5

    left = [engine.send(form.flow_id, MISMATCH).details.mismatches_left for _ in range(4)]
    locked = engine.send(form.flow_id, MISMATCH)

    assert left == [4, 3, 2, 1]
    assert locked.state is State.LOCKED
    assert locked.details.mismatches_left is None


def test_a_form_error_uses_up_no_try(engine: Engine) -> None:
    flow_id = at_form(engine).flow_id
    engine.send(flow_id, MISMATCH)

    view = engine.send(flow_id, form_for(phone=""))

    assert view.error_codes() == ("phone.required",)
    assert view.details.mismatches_left == 4


def test_each_wrong_code_counts_down_to_the_lock(engine: Engine, ports: FakePorts) -> None:
    otp = at_otp(engine)
    assert otp.otp_attempts_left == 5

    typed = ConfirmOtp(wrong(ports.sms.last_code()))
    left = [engine.send(otp.flow_id, typed).otp_attempts_left for _ in range(4)]
    locked = engine.send(otp.flow_id, typed)

    assert left == [4, 3, 2, 1]
    assert locked.state is State.LOCKED
    assert locked.otp_attempts_left is None


def test_a_new_code_keeps_the_count_of_the_flow(ports: FakePorts) -> None:
    engine = ports.engine(policy=Policy(otp_max_attempts=3))
    flow_id = at_otp(engine).flow_id
    engine.send(flow_id, ConfirmOtp(wrong(ports.sms.last_code())))
    ports.clock.advance(seconds=60)

    view = engine.send(flow_id, ResendOtp())

    assert view.otp_attempts_left == 2
    assert view.details.mismatches_left is None


def test_the_counts_are_none_where_they_do_not_apply(engine: Engine, ports: FakePorts) -> None:
    start = engine.start("bhxh_registration")
    password = at_password(engine, ports)

    assert (start.otp_attempts_left, start.details.mismatches_left) == (None, None)
    assert (password.otp_attempts_left, password.details.mismatches_left) == (None, None)
    assert at_otp(engine).details.mismatches_left is None
