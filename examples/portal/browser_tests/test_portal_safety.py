"""Timing, refresh, back button, double submit, cookie and CSRF: what a browser can throw at it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from playwright.sync_api import Page, expect

from .citizen import (
    GOOD_PASSWORD,
    enter_otp,
    last_otp,
    reach_otp,
    reach_password,
    set_password,
    shoot,
)

if TYPE_CHECKING:
    from playwright.sync_api import Request

    from .citizen import Portal


def advance(portal: Portal, **delta: float) -> None:
    clock = portal.services.dev_clock
    assert clock is not None
    clock.advance(timedelta(**delta))


def sms_count(portal: Portal) -> int:
    inbox = portal.services.inbox
    assert inbox is not None
    return len(inbox.messages())


def test_resend_appears_when_the_wait_is_over_in_the_page(page: Page) -> None:
    """The page's clock is paused, so the countdown moves only as the test runs it, however
    slow the machine; the engine counts whole seconds, so the wait it renders is 59 or 60."""
    page.clock.install()
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    reach_otp(page)
    wait = page.locator("#resend-wait")
    start = int(wait.get_attribute("data-countdown") or 0)
    assert start in (59, 60)
    expect(page.locator("#resend")).to_be_hidden()
    expect(wait).to_contain_text(f"{start} giây")

    page.clock.run_for(30_000)
    expect(wait).to_contain_text(f"{start - 30} giây")
    expect(page.locator("#resend")).to_be_hidden()
    page.clock.run_for((start - 30) * 1000)
    expect(page.locator("#resend")).to_be_visible()
    expect(wait).to_be_hidden()


def test_resend_is_offered_by_the_server_only_after_the_wait(page: Page, portal: Portal) -> None:
    reach_otp(page)
    # The engine counts whole seconds, so the 60-second wait may end up to a second early.
    advance(portal, seconds=58)
    page.reload()
    expect(page.locator("#resend")).to_be_hidden()

    advance(portal, seconds=2)
    page.reload()
    page.get_by_role("button", name="Gửi lại OTP").click()
    expect(page.get_by_text("Đã gửi lại mã OTP.")).to_be_visible()
    expect(page.get_by_text("Còn 3 lần gửi mã.")).to_be_visible()
    assert sms_count(portal) == 2
    shoot(page, portal, "04-otp-resent")


def test_an_expired_otp_asks_for_a_resend(page: Page, portal: Portal) -> None:
    reach_otp(page)
    code = last_otp(portal)
    advance(portal, minutes=5)
    enter_otp(page, code)  # typed on the page opened before the code expired

    expect(page.get_by_role("alert")).to_have_text("Mã OTP đã hết hạn. Vui lòng bấm “Gửi lại OTP”.")
    expect(page.locator("#code")).to_have_count(0)
    shoot(page, portal, "04-otp-expired")
    page.get_by_role("button", name="Gửi lại OTP").click()
    enter_otp(page, last_otp(portal))
    expect(page.get_by_role("heading", name="Đặt mật khẩu")).to_be_visible()


def test_refresh_shows_the_same_step_and_sends_nothing_again(page: Page, portal: Portal) -> None:
    reach_otp(page)
    page.reload()
    page.reload()

    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()
    assert sms_count(portal) == 1


def test_the_back_button_returns_to_the_current_step(page: Page, portal: Portal) -> None:
    reach_otp(page)
    page.go_back()
    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()

    enter_otp(page, last_otp(portal))
    set_password(page, GOOD_PASSWORD)
    expect(page.get_by_role("heading", name="Đăng ký tài khoản thành công")).to_be_visible()
    page.go_back()
    page.go_back()
    expect(page.get_by_role("heading", name="Đăng ký tài khoản thành công")).to_be_visible()
    assert portal.accounts() == 2


def test_a_double_click_sends_the_form_once(page: Page, portal: Portal) -> None:
    reach_password(page, portal)
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    page.locator("#password").fill(GOOD_PASSWORD)
    page.locator("#confirmation").fill(GOOD_PASSWORD)
    page.locator("#finish").dblclick()

    expect(page.get_by_role("heading", name="Đăng ký tài khoản thành công")).to_be_visible()
    assert len(posts) == 1


def test_two_racing_submits_create_one_account(page: Page, portal: Portal) -> None:
    reach_password(page, portal)
    statuses = page.evaluate(
        """async (password) => {
            const form = new FormData(document.querySelector("form[action$=password]"));
            form.set("password", password);
            form.set("confirmation", password);
            const send = () => fetch("/register/password", {method: "POST", body: form});
            const answers = await Promise.all([send(), send()]);
            return answers.map((answer) => answer.status);
        }""",
        GOOD_PASSWORD,
    )
    page.reload()

    assert statuses == [200, 200]
    expect(page.get_by_role("heading", name="Đăng ký tài khoản thành công")).to_be_visible()
    assert portal.accounts() == 2
    expect(page.locator(".alert")).to_have_count(0)


def test_the_flow_cookie_is_signed_http_only_and_same_site(page: Page, portal: Portal) -> None:
    reach_otp(page)
    [cookie] = page.context.cookies()
    assert cookie["name"] == "regflow_portal"
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""

    forged = cookie["value"][:-4] + "AAAA"
    page.context.add_cookies([{"name": cookie["name"], "value": forged, "url": portal.url}])
    page.goto("/register/otp")
    expect(page.get_by_text("Không tìm thấy phiên đăng ký")).to_be_visible()


def test_a_form_without_its_csrf_token_is_refused(page: Page, portal: Portal) -> None:
    reach_otp(page)
    answer = page.request.post("/register/otp/resend", form={"csrf_token": "forged"})
    assert answer.status == 400
    assert sms_count(portal) == 1
