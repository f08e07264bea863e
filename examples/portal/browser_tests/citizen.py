"""What a citizen does in the browser, step by step, as the tests' vocabulary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from playwright.sync_api import Page, expect

from regflow.adapters.demo import demo_citizens
from regflow.adapters.memory import InMemoryUserStore
from regflow_portal import Services

if TYPE_CHECKING:
    from regflow import BhxhRecord

NEW_CITIZEN, SECOND_CITIZEN, HAS_ACCOUNT, OLD_ID_CARD = demo_citizens()
GOOD_PASSWORD = "Sao-Mai-2026!"


@attrs.frozen
class Portal:
    """A running portal: where it listens and the services behind it (memory stores)."""

    url: str
    services: Services
    screenshots: Path

    def accounts(self) -> int:
        users = self.services.users
        assert isinstance(users, InMemoryUserStore)
        return len(users.accounts)


def typed_form(record: BhxhRecord, **changes: str) -> dict[str, str]:
    """The BHXH form as the citizen types it for `record`; `changes` alter single fields."""
    return {
        "bhxh_number": record.bhxh_number,
        "full_name": record.full_name,
        "id_number": record.id_number,
        "date_of_birth": record.date_of_birth.strftime("%d/%m/%Y"),
        "phone": "0" + record.phone.removeprefix("+84"),
        "email": "",
    } | changes


def shoot(page: Page, portal: Portal, name: str) -> None:
    page.screenshot(path=portal.screenshots / f"{name}.png", full_page=True)


def start(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Đăng ký").click()
    expect(page.get_by_role("heading", name="Chọn phương thức đăng ký")).to_be_visible()


def choose_bhxh(page: Page) -> None:
    page.get_by_label("Công dân").check()
    page.get_by_label("Bảo hiểm xã hội").check()
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_role("heading", name="Đăng ký bằng Bảo hiểm xã hội")).to_be_visible()


def fill_form(page: Page, form: dict[str, str]) -> None:
    for name, value in form.items():
        page.locator(f"#{name}").fill(value)


def submit_form(page: Page, form: dict[str, str]) -> None:
    fill_form(page, form)
    page.locator("#submit-details").click()


def reach_otp(page: Page, record: BhxhRecord = NEW_CITIZEN) -> None:
    start(page)
    choose_bhxh(page)
    submit_form(page, typed_form(record))
    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()


def last_otp(portal: Portal) -> str:
    inbox = portal.services.inbox
    assert inbox is not None
    return inbox.messages()[0].message.params["code"]


def wrong(code: str) -> str:
    """A code that is certainly not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def enter_otp(page: Page, code: str) -> None:
    page.locator("#code").fill(code)
    page.get_by_role("button", name="Xác nhận").click()


def reach_password(page: Page, portal: Portal) -> None:
    reach_otp(page)
    enter_otp(page, last_otp(portal))
    expect(page.get_by_role("heading", name="Đặt mật khẩu")).to_be_visible()


def set_password(page: Page, password: str, confirmation: str | None = None) -> None:
    page.locator("#password").fill(password)
    page.locator("#confirmation").fill(password if confirmation is None else confirmation)
    page.locator("#finish").click()


def register(page: Page, portal: Portal) -> None:
    """Register `NEW_CITIZEN` with `GOOD_PASSWORD`, through every screen."""
    reach_password(page, portal)
    set_password(page, GOOD_PASSWORD)
    expect(page.get_by_role("heading", name="Đăng ký tài khoản thành công")).to_be_visible()
