"""Step 3's check against the BHXH database: mismatch, lock, account exists, BHXH down, match."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from regflow import REMEDIES, Account, Engine, Policy, State
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import at_form

MISMATCHES = [
    {"full_name": "Nguyễn Văn Ân"},
    {"date_of_birth": "18/05/1990"},
    {"phone": "0912345679"},
    {"bhxh_number": "0999999999"},  # BHXH has no such number: told the same as a mismatch
]


def existing_account(**changes: Any) -> Account:
    account = Account.for_citizen(
        attrs.evolve(CITIZEN, bhxh_number="0000000000"),
        account_id="existing",
        email=None,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        flow_id="another-flow",
    )
    return attrs.evolve(account, **changes)


@pytest.mark.parametrize("changes", MISMATCHES)
def test_a_mismatch_cannot_register_and_does_not_say_which_field(
    engine: Engine, ports: FakePorts, changes: dict[str, str]
) -> None:
    view = engine.send(at_form(engine).flow_id, form_for(**changes))

    assert view.state is State.DATA_MISMATCH
    assert view.error_codes() == ("bhxh.data_mismatch",)
    assert view.errors[0].field is None
    assert "Không thể đăng ký" in view.errors[0].message.vi
    assert "cannot be registered" in view.errors[0].message.en
    assert ports.sms.sent == []


def test_after_a_mismatch_the_citizen_may_correct_and_resubmit(engine: Engine) -> None:
    flow_id = at_form(engine).flow_id
    engine.send(flow_id, form_for(phone="0912345679"))

    view = engine.send(flow_id, form_for())

    assert view.state is State.OTP_PENDING
    assert view.ok


def test_the_fifth_mismatch_locks_the_flow(engine: Engine) -> None:
    flow_id = at_form(engine).flow_id
    for _ in range(4):
        assert engine.send(flow_id, form_for(phone="0912345679")).state is State.DATA_MISMATCH

    locked = engine.send(flow_id, form_for(phone="0912345679"))
    after = engine.send(flow_id, form_for())

    assert locked.state is State.LOCKED
    assert locked.error_codes() == ("bhxh.mismatch_limit",)
    assert after.state is State.LOCKED
    assert after.error_codes() == ("flow.locked",)
    assert after.allowed_events == frozenset()


def test_the_mismatch_limit_is_configurable(ports: FakePorts) -> None:
    engine = ports.engine(policy=Policy(max_mismatches=2))
    flow_id = at_form(engine).flow_id

    first = engine.send(flow_id, form_for(full_name="Trần Thị B"))
    second = engine.send(flow_id, form_for(full_name="Trần Thị B"))

    assert (first.state, second.state) == (State.DATA_MISMATCH, State.LOCKED)


def test_invalid_forms_do_not_count_as_mismatches(ports: FakePorts) -> None:
    engine = ports.engine(policy=Policy(max_mismatches=1))
    flow_id = at_form(engine).flow_id

    for _ in range(3):
        assert engine.send(flow_id, form_for(phone="")).state is State.FILLING_FORM

    assert engine.send(flow_id, form_for()).state is State.OTP_PENDING


def test_an_account_for_the_id_number_bhxh_returns_offers_the_three_remedies(
    engine: Engine, ports: FakePorts
) -> None:
    ports.users.add(existing_account(), "hash")

    view = engine.send(at_form(engine).flow_id, form_for())

    assert view.state is State.ACCOUNT_EXISTS
    assert view.error_codes() == ("account.exists",)
    assert view.details.remedies == REMEDIES
    assert [r.code for r in view.details.remedies] == [
        "forgot_password",
        "service_counter",
        "complaint",
    ]
    assert all(r.title.vi and r.title.en and r.description.vi for r in view.details.remedies)
    assert ports.sms.sent == []


def test_an_account_for_the_bhxh_number_also_counts(engine: Engine, ports: FakePorts) -> None:
    ports.users.add(
        existing_account(id_number="999999999", bhxh_number=CITIZEN.bhxh_number), "hash"
    )

    assert engine.send(at_form(engine).flow_id, form_for()).state is State.ACCOUNT_EXISTS


def test_account_exists_is_terminal(engine: Engine, ports: FakePorts) -> None:
    ports.users.add(existing_account(), "hash")
    flow_id = at_form(engine).flow_id
    engine.send(flow_id, form_for())

    view = engine.send(flow_id, form_for())

    assert view.state is State.ACCOUNT_EXISTS
    assert view.error_codes() == ("flow.finished",)


class DownRegistry:
    def lookup(self, bhxh_number: str) -> None:
        raise TimeoutError(bhxh_number)


def test_bhxh_down_is_retryable_keeps_the_flow_and_is_never_a_mismatch(
    ports: FakePorts,
) -> None:
    working = ports.bhxh
    ports.bhxh = DownRegistry()  # type: ignore[assignment]
    engine = ports.engine(policy=Policy(max_mismatches=1))
    flow_id = at_form(engine).flow_id

    failed = engine.send(flow_id, form_for())

    assert failed.state is State.FILLING_FORM
    assert failed.error_codes() == ("bhxh.unavailable",)
    assert failed.retryable
    assert ports.flows.load(flow_id).context.mismatches == 0  # type: ignore[union-attr]
    ports.bhxh = working
    assert ports.engine().send(flow_id, form_for()).state is State.OTP_PENDING


def test_a_match_sends_an_otp_to_the_phone_on_the_bhxh_record(
    engine: Engine, ports: FakePorts
) -> None:
    view = engine.send(at_form(engine).flow_id, form_for())

    assert view.state is State.OTP_PENDING
    assert [sms.phone for sms in ports.sms.sent] == [CITIZEN.phone]
    assert view.phone_hint == "+849*****678"
    assert view.allowed_events == {"confirm_otp", "resend_otp"}
