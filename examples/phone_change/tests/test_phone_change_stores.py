"""The phone change end to end on regflow's SQLite and PostgreSQL stores."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conftest import LOGIN, NEW_PHONE, NEW_PHONE_E164, PASSWORD
from phone_change import PhoneChangeState, RequestPhoneChange
from regflow import ConfirmOtp

if TYPE_CHECKING:
    from conftest import Portal


def test_a_phone_change_survives_the_store(stored_portal: Portal) -> None:
    engine, sms = stored_portal.engine, stored_portal.sms
    flow_id = engine.start("phone_change").flow_id

    asked = engine.send(flow_id, RequestPhoneChange(LOGIN, PASSWORD, NEW_PHONE))
    assert asked.state is PhoneChangeState.OTP_PENDING
    assert engine.view(flow_id).phone_hint == "+849*****321"  # read back from the store
    done = engine.send(flow_id, ConfirmOtp(sms.last_code(NEW_PHONE_E164)))

    assert done.state is PhoneChangeState.COMPLETED
    assert stored_portal.phones.phone(stored_portal.account.account_id) == NEW_PHONE_E164
