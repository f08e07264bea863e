"""The password recovery ("Quên mật khẩu") in a browser, on a portal whose accounts and flows
live in a SQLite file: from the account-exists screen and the home page to a new password,
and every answer on the way that must not tell whether an account has the login."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from regflow import ERRORS, PASSWORD_RECOVERY
from regflow.testing import FastHasher
from regflow_portal import build_services, create_app

from .citizen import (
    GOOD_PASSWORD,
    HAS_ACCOUNT,
    NEW_CITIZEN,
    Portal,
    choose_bhxh,
    enter_otp,
    last_otp,
    register,
    set_password,
    shoot,
    start,
    submit_form,
    typed_form,
    wrong,
)
from .client import last_otp as texted_otp
from .client import post, reach_otp
from .client import settings as client_settings
from .conftest import serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NEW_PASSWORD = "Hoa-Sen-2027?"
UNKNOWN_LOGIN = "987654321"  # a CMND's shape; no account has it
HASHER = FastHasher()
LOGIN_INVALID = next(e.message for e in PASSWORD_RECOVERY.errors if e.code == "login.invalid")
OTP_LEAD = "Nếu có tài khoản với số này, mã OTP đã được gửi tới số điện thoại của tài khoản."


@pytest.fixture
def portal(screenshots: Path, tmp_path: Path) -> Iterator[Portal]:
    """The portal of conftest's, its stores in a SQLite file (the `page` fixture uses it)."""
    yield from serve(screenshots, database=str(tmp_path / "portal.sqlite3"), hasher=HASHER)


def reach_account_exists(page: Page) -> None:
    start(page)
    choose_bhxh(page)
    submit_form(page, typed_form(NEW_CITIZEN))
    expect(page.get_by_role("heading", name="Tài khoản đã tồn tại")).to_be_visible()


def forgot_from_home(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Quên mật khẩu").click()
    expect(page.get_by_role("heading", name="Lấy lại mật khẩu")).to_be_visible()


def submit_login(page: Page, login: str) -> None:
    page.locator("#login").fill(login)
    page.locator("#submit-login").click()


def reach_recovery_otp(page: Page, login: str = HAS_ACCOUNT.id_number) -> None:
    forgot_from_home(page)
    submit_login(page, login)
    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()


def verifies(portal: Portal, login: str, password: str) -> bool:
    users = portal.services.users
    account = users.find_by_login(login)
    assert account is not None
    stored = users.password_hash(account.account_id)
    assert stored is not None
    return HASHER.verify(stored, password)


def test_a_citizen_whose_account_exists_sets_a_new_password(page: Page, portal: Portal) -> None:
    register(page, portal)
    reach_account_exists(page)
    expect(page.locator("#remedy-service_counter")).to_contain_text("Quầy dịch vụ")
    expect(page.locator("#remedy-complaint")).to_contain_text("Khiếu nại")
    page.locator("#remedy-forgot_password").get_by_role("button", name="Lấy lại mật khẩu").click()
    expect(page.get_by_role("heading", name="Lấy lại mật khẩu")).to_be_visible()
    shoot(page, portal, "12-recovery-login")
    submit_login(page, NEW_CITIZEN.id_number)
    expect(page.locator("#otp-lead")).to_have_text(OTP_LEAD)
    expect(page.locator("main")).not_to_contain_text(NEW_CITIZEN.phone[-4:])  # no phone hint
    shoot(page, portal, "13-recovery-otp")
    enter_otp(page, last_otp(portal))
    expect(page.get_by_role("heading", name="Đặt mật khẩu mới")).to_be_visible()
    set_password(page, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Đã đổi mật khẩu")).to_be_visible()
    shoot(page, portal, "14-recovery-done")
    assert verifies(portal, NEW_CITIZEN.id_number, NEW_PASSWORD)
    assert not verifies(portal, NEW_CITIZEN.id_number, GOOD_PASSWORD)
    page.locator("#home").click()
    expect(
        page.get_by_role("heading", name="Chào mừng đến Cổng Dịch vụ công Quốc gia")
    ).to_be_visible()


def test_a_login_of_the_wrong_shape_is_refused_in_both_languages(page: Page) -> None:
    forgot_from_home(page)
    submit_login(page, "12345")
    expect(page.locator("#login-error")).to_have_text(LOGIN_INVALID.vi)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Recover your password")).to_be_visible()
    expect(page.locator("#login-error")).to_have_count(0)  # an error is shown once
    submit_login(page, "12345")
    expect(page.locator("#login-error")).to_have_text(LOGIN_INVALID.en)


def otp_screen(page: Page) -> list[str]:
    """What the OTP screen tells: its title and every text but the ticking countdown."""
    page.locator("#resend-wait").evaluate("node => node.remove()")
    return [page.title(), page.locator("main").inner_text()]


def test_an_unknown_login_gets_the_same_otp_screen_as_a_known_one(
    page: Page, portal: Portal
) -> None:
    inbox = portal.services.inbox
    assert inbox is not None
    reach_recovery_otp(page, HAS_ACCOUNT.id_number)
    known = otp_screen(page)
    sent = len(inbox.messages())
    reach_recovery_otp(page, UNKNOWN_LOGIN)
    assert otp_screen(page) == known
    assert len(inbox.messages()) == sent  # the decoy's code goes to no phone
    expect(page.locator("#otp-lead")).to_have_text(OTP_LEAD)


def test_a_wrong_code_is_refused_with_the_tries_left(page: Page, portal: Portal) -> None:
    reach_recovery_otp(page)
    enter_otp(page, wrong(last_otp(portal)))
    expect(page.locator("#code-error")).to_have_text(ERRORS["otp.invalid"].message.vi)
    expect(page.locator("#tries-left")).to_have_text(
        "Còn 4 lần thử trước khi phiên lấy lại mật khẩu bị khóa."
    )


def test_wrong_codes_lock_the_recovery_and_it_can_begin_again(page: Page, portal: Portal) -> None:
    reach_recovery_otp(page)
    code = last_otp(portal)
    for left in (4, 3, 2, 1):
        enter_otp(page, wrong(code))
        expect(page.locator("#tries-left")).to_contain_text(f"Còn {left} lần thử")
    enter_otp(page, wrong(code))
    expect(page.get_by_role("heading", name="Phiên lấy lại mật khẩu đã bị khóa")).to_be_visible()
    page.get_by_role("button", name="Lấy lại mật khẩu từ đầu").click()
    expect(page.get_by_role("heading", name="Lấy lại mật khẩu")).to_be_visible()


def test_a_recovery_past_its_lifetime_shows_as_expired(page: Page, portal: Portal) -> None:
    reach_recovery_otp(page)
    clock = portal.services.dev_clock
    assert clock is not None
    clock.advance(timedelta(minutes=15))
    page.reload()
    expect(page.get_by_role("heading", name="Phiên lấy lại mật khẩu đã hết hạn")).to_be_visible()
    expect(page.locator("main")).to_contain_text("trong 15 phút")


def test_a_weak_password_shows_the_password_errors(page: Page, portal: Portal) -> None:
    reach_recovery_otp(page)
    enter_otp(page, last_otp(portal))
    set_password(page, "abc", "abd")
    for code in ("password.too_short", "password.no_uppercase", "password.no_digit"):
        expect(page.locator("#password-error")).to_contain_text(ERRORS[code].message.vi)
    expect(page.locator("#confirmation-error")).to_contain_text(
        ERRORS["password.mismatch"].message.vi
    )
    expect(page.get_by_role("heading", name="Đặt mật khẩu mới")).to_be_visible()


def test_a_form_of_the_flow_a_recovery_replaced_is_not_sent_to_it() -> None:
    """A registration's OTP page left open in one tab, a recovery begun in another: the
    registration's form does not reach the recovery (its code would count as a wrong one)."""
    services = build_services(client_settings())
    client = create_app(client_settings(), services).test_client()
    reach_otp(client)
    post(client, "/recover")
    post(client, "/recover/login", login=HAS_ACCOUNT.id_number)
    stale = post(client, "/register/otp", code=wrong(texted_otp(services)))
    assert "otp-lead" in stale
    assert "tries-left" not in stale
    page = post(client, "/recover/otp", code=wrong(texted_otp(services)))
    assert "Còn 4 lần thử trước khi phiên lấy lại mật khẩu bị khóa." in page


def test_the_recovery_has_its_own_urls_and_the_home_page_resumes_it() -> None:
    services = build_services(client_settings())
    client = create_app(client_settings(), services).test_client()
    post(client, "/recover")
    post(client, "/recover/login", login=UNKNOWN_LOGIN)
    assert client.get("/register/otp").headers["Location"] == "/recover/otp"
    assert client.get("/recover/login").headers["Location"] == "/recover/otp"
    home = client.get("/").text
    assert 'href="/recover/otp">Tiếp tục lấy lại mật khẩu</a>' in home
