"""The phone change end to end on regflow's fakes: each rule, the OTP, the host's port."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from conftest import LOGIN, NEW_PHONE, NEW_PHONE_E164, PASSWORD
from phone_change import PHONE_CHANGE, PhoneChangeState, RequestPhoneChange
from regflow import ConfirmOtp, FlowView, ResendOtp
from regflow.testing import FakePorts

if TYPE_CHECKING:
    from conftest import Portal

S = PhoneChangeState


def request(portal: Portal, **typed: str) -> tuple[str, FlowView]:
    """Start a phone change and send the request screen (`typed` changes its fields)."""
    flow_id = portal.engine.start("phone_change").flow_id
    fields = {"login": LOGIN, "password": PASSWORD, "new_phone": NEW_PHONE, **typed}
    return flow_id, portal.engine.send(flow_id, RequestPhoneChange(**fields))


def codes(view: FlowView) -> list[str]:
    return [error.code for error in view.errors]


def test_the_right_code_moves_the_account_to_the_new_phone(portal: Portal) -> None:
    flow_id, view = request(portal)

    assert view.state is S.OTP_PENDING
    assert view.phone_hint == "+849*****321"
    assert [sms.phone for sms in portal.sms.sent] == [NEW_PHONE_E164]  # not the old phone
    done = portal.engine.send(flow_id, ConfirmOtp(portal.sms.last_code()))
    assert done.state is S.COMPLETED
    assert portal.phones.phone(portal.account.account_id) == NEW_PHONE_E164


def test_the_next_change_compares_with_the_changed_phone(portal: Portal) -> None:
    flow_id, _ = request(portal)
    portal.engine.send(flow_id, ConfirmOtp(portal.sms.last_code()))

    _, again = request(portal, new_phone="+84 987 654 321")

    assert again.state is S.ENTERING_REQUEST
    assert codes(again) == ["phone_change.phone_unchanged"]


@pytest.mark.parametrize(
    "typed",
    [{"password": "wrong"}, {"login": "079090000001"}, {"login": "not a login"}],
    ids=["wrong password", "unknown login", "malformed login"],
)
def test_a_wrong_login_or_password_gets_one_answer_that_does_not_say_which(
    portal: Portal, typed: dict[str, str]
) -> None:
    _, view = request(portal, **typed)

    assert view.state is S.ENTERING_REQUEST
    assert [(e.code, e.field) for e in view.errors] == [("phone_change.credentials_wrong", None)]
    assert portal.sms.sent == []


def test_a_new_phone_that_is_no_mobile_is_refused_on_its_field(portal: Portal) -> None:
    _, view = request(portal, new_phone="024 3825 1234")  # a Hà Nội landline

    assert [(e.code, e.field) for e in view.errors] == [("phone_change.phone_invalid", "new_phone")]


def test_the_registered_phone_however_typed_is_no_change(portal: Portal) -> None:
    _, view = request(portal, new_phone="0912 345 678")

    assert codes(view) == ["phone_change.phone_unchanged"]
    assert portal.sms.sent == []


def test_wrong_codes_lock_the_flow_and_leave_the_phone_as_it_was(portal: Portal) -> None:
    flow_id, _ = request(portal)
    code = portal.sms.last_code()
    wrong = "000000" if code != "000000" else "111111"

    first = portal.engine.send(flow_id, ConfirmOtp(wrong))
    assert (first.state, codes(first)) == (S.OTP_PENDING, ["otp.invalid"])
    view = first
    while view.state is S.OTP_PENDING:
        view = portal.engine.send(flow_id, ConfirmOtp(wrong))
    assert view.state is S.LOCKED
    assert codes(portal.engine.send(flow_id, ConfirmOtp(code))) == ["flow.locked"]
    assert portal.phones.phone(portal.account.account_id) is None


def test_a_resent_code_goes_to_the_new_phone_too(portal: Portal) -> None:
    flow_id, _ = request(portal)
    portal.clock.advance(portal.engine.policy.otp_resend_after)

    resent = portal.engine.send(flow_id, ResendOtp())

    assert (resent.state, resent.errors) == (S.OTP_PENDING, ())
    assert [sms.phone for sms in portal.sms.sent] == [NEW_PHONE_E164, NEW_PHONE_E164]
    done = portal.engine.send(flow_id, ConfirmOtp(portal.sms.last_code()))
    assert done.state is S.COMPLETED


def test_an_expired_code_is_refused_and_a_resent_one_works(portal: Portal) -> None:
    flow_id, _ = request(portal)
    portal.clock.advance(portal.engine.policy.otp_ttl)

    late = portal.engine.send(flow_id, ConfirmOtp(portal.sms.last_code()))
    assert late.state is S.OTP_EXPIRED
    portal.engine.send(flow_id, ResendOtp())
    assert portal.engine.send(flow_id, ConfirmOtp(portal.sms.last_code())).state is S.COMPLETED


def test_a_flow_past_its_lifetime_ends_expired(portal: Portal) -> None:
    flow_id, _ = request(portal)
    portal.clock.advance(PHONE_CHANGE.lifetime_under(portal.engine.policy))

    view = portal.engine.send(flow_id, ConfirmOtp(portal.sms.last_code()))

    assert view.state is S.EXPIRED
    assert portal.phones.phone(portal.account.account_id) is None


class BrokenPhones:
    """The host's phone service, down."""

    def phone(self, account_id: str) -> str | None:  # noqa: ARG002 - the port's signature
        return None

    def change_phone(self, account_id: str, phone: str) -> None:  # noqa: ARG002 - as above
        raise ConnectionError(account_id)


def test_a_failing_phones_port_is_reported_and_the_code_still_works() -> None:
    ports = FakePorts.seeded()
    from conftest import Portal, seed  # noqa: PLC0415

    phones = BrokenPhones()
    portal = Portal(
        ports.engine(PHONE_CHANGE, ports={"phones": phones}),
        ports.sms,
        ports.clock,
        phones,
        seed(ports.users, ports.hasher, ports.clock),
    )
    flow_id, _ = request(portal)

    view = portal.engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))

    assert (view.state, codes(view)) == (S.OTP_PENDING, ["phones.unavailable"])
    assert view.errors[0].retryable


def test_an_engine_without_the_phones_port_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="needs the port\\(s\\) phones"):
        FakePorts.seeded().engine(PHONE_CHANGE)
