"""The tutorial's phone change ("Đổi số điện thoại") in the portal: a host's own flow, with its
own port (`AccountPhones`), on the screens of regflow's flows. A citizen registers, then moves
the account to a new phone by the code texted to that phone."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from phone_change import PHONE_CHANGE
from regflow import ERRORS
from regflow_portal import build_services, create_app

from .citizen import (
    GOOD_PASSWORD,
    NEW_CITIZEN,
    Portal,
    enter_otp,
    last_otp,
    register,
    shoot,
    wrong,
)
from .client import last_otp as texted_otp
from .client import post, reach_otp, settings

if TYPE_CHECKING:
    from pathlib import Path

    from flask.testing import FlaskClient

    from regflow import Message
    from regflow_portal import Services

NEW_PHONE, NEW_PHONE_E164 = "0987 654 321", "+84987654321"
OTP_LEAD = "Mã OTP đã được gửi tới số điện thoại mới"
TRIES_LEFT = "Còn 4 lần thử trước khi phiên đổi số điện thoại bị khóa."


def flow_error(code: str) -> Message:
    """The message of one of the flow's own error codes."""
    return next(e.message for e in PHONE_CHANGE.errors if e.code == code)


def open_phone_change(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Đổi số điện thoại").click()
    expect(page.get_by_role("heading", name="Đổi số điện thoại")).to_be_visible()


def submit_request(page: Page, password: str = GOOD_PASSWORD, new_phone: str = NEW_PHONE) -> None:
    page.locator("#login").fill(NEW_CITIZEN.id_number)
    page.locator("#password").fill(password)
    page.locator("#new_phone").fill(new_phone)
    page.locator("#submit-request").click()


def reach_phone_otp(page: Page, portal: Portal) -> None:
    register(page, portal)
    open_phone_change(page)
    submit_request(page)
    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()


def account_id(portal: Portal) -> str:
    account = portal.services.users.find_by_login(NEW_CITIZEN.id_number)
    assert account is not None
    return account.account_id


def test_a_citizen_moves_the_account_to_the_phone_the_code_reached(
    page: Page, portal: Portal
) -> None:
    inbox = portal.services.inbox
    assert inbox is not None
    register(page, portal)
    open_phone_change(page)
    shoot(page, portal, "15-phone-request")
    submit_request(page, password="Sai-Mat-Khau-1!")
    expect(page.get_by_role("alert")).to_have_text(flow_error("phone_change.credentials_wrong").vi)
    expect(page.locator(".field-error")).to_have_count(0)  # it says neither which field
    sent = len(inbox.messages())
    submit_request(page)
    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()
    expect(page.locator("#otp-lead")).to_contain_text(OTP_LEAD)
    expect(page.locator("#otp-lead")).to_contain_text(NEW_PHONE_E164[-3:])  # the masked hint
    shoot(page, portal, "16-phone-otp")
    assert len(inbox.messages()) == sent + 1
    assert inbox.messages()[0].phone == NEW_PHONE_E164  # the code goes to the NEW phone
    enter_otp(page, last_otp(portal))
    expect(page.get_by_role("heading", name="Đã đổi số điện thoại")).to_be_visible()
    shoot(page, portal, "17-phone-done")
    assert portal.services.phones.phone(account_id(portal)) == NEW_PHONE_E164
    page.locator("#home").click()
    expect(page.get_by_role("button", name="Đổi số điện thoại")).to_be_visible()


def test_a_wrong_code_is_refused_and_the_phone_stays(page: Page, portal: Portal) -> None:
    reach_phone_otp(page, portal)
    enter_otp(page, wrong(last_otp(portal)))
    expect(page.locator("#code-error")).to_have_text(ERRORS["otp.invalid"].message.vi)
    expect(page.locator("#tries-left")).to_have_text(TRIES_LEFT)
    assert portal.services.phones.phone(account_id(portal)) is None


def test_a_new_phone_that_is_no_mobile_is_refused_by_its_field_in_both_languages(
    page: Page, portal: Portal
) -> None:
    register(page, portal)
    open_phone_change(page)
    submit_request(page, new_phone="12345")
    expect(page.locator("#new_phone-error")).to_have_text(
        flow_error("phone_change.phone_invalid").vi
    )
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Change your phone number")).to_be_visible()
    submit_request(page, new_phone="12345")
    expect(page.locator("#new_phone-error")).to_have_text(
        flow_error("phone_change.phone_invalid").en
    )


def test_the_phone_the_account_has_is_refused_by_its_field(page: Page, portal: Portal) -> None:
    register(page, portal)
    open_phone_change(page)
    submit_request(page, new_phone=NEW_CITIZEN.phone)
    expect(page.locator("#new_phone-error")).to_have_text(
        flow_error("phone_change.phone_unchanged").vi
    )


def test_wrong_codes_lock_the_change_and_it_can_begin_again(page: Page, portal: Portal) -> None:
    reach_phone_otp(page, portal)
    code = last_otp(portal)
    for _ in range(5):
        enter_otp(page, wrong(code))
    expect(page.get_by_role("heading", name="Phiên đổi số điện thoại đã bị khóa")).to_be_visible()
    page.get_by_role("button", name="Đổi số điện thoại từ đầu").click()
    expect(page.get_by_role("heading", name="Đổi số điện thoại")).to_be_visible()


def test_a_change_past_its_lifetime_shows_as_expired(page: Page, portal: Portal) -> None:
    reach_phone_otp(page, portal)
    clock = portal.services.dev_clock
    assert clock is not None
    clock.advance(timedelta(minutes=15))
    page.reload()
    expect(page.get_by_role("heading", name="Phiên đổi số điện thoại đã hết hạn")).to_be_visible()
    expect(page.locator("main")).to_contain_text("trong 15 phút")


def register_by_client(client: FlaskClient, services: Services) -> None:
    reach_otp(client)
    post(client, "/register/otp", code=texted_otp(services))
    post(client, "/register/password", password=GOOD_PASSWORD, confirmation=GOOD_PASSWORD)


def test_the_changed_phone_is_kept_in_the_portals_database_file(tmp_path: Path) -> None:
    database = str(tmp_path / "portal.sqlite3")
    services = build_services(settings(database=database))
    client = create_app(settings(database=database), services).test_client()
    register_by_client(client, services)
    post(client, "/phone")
    typed = {"login": NEW_CITIZEN.id_number, "password": GOOD_PASSWORD, "new_phone": NEW_PHONE}
    post(client, "/phone/request", **typed)
    assert client.get("/register/otp").headers["Location"] == "/phone/otp"
    assert 'href="/phone/otp">Tiếp tục đổi số điện thoại</a>' in client.get("/").text
    done = post(client, "/phone/otp", code=texted_otp(services))
    assert "Đã đổi số điện thoại" in done
    account = services.users.find_by_login(NEW_CITIZEN.id_number)
    assert account is not None
    restarted = build_services(settings(database=database))
    assert restarted.phones.phone(account.account_id) == NEW_PHONE_E164


def test_a_portal_on_postgresql_keeps_the_changed_phones_there() -> None:
    """Many app servers share PostgreSQL: a phone one changed, another reads."""
    dsn = os.environ.get("REGFLOW_TEST_POSTGRES_DSN")
    if not dsn:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true needs REGFLOW_TEST_POSTGRES_DSN")
        pytest.skip("no PostgreSQL: set REGFLOW_TEST_POSTGRES_DSN")
    one = build_services(settings(database=dsn))
    other = build_services(settings(database=dsn))

    one.phones.change_phone("portal-test-account", NEW_PHONE_E164)

    assert other.phones.phone("portal-test-account") == NEW_PHONE_E164
