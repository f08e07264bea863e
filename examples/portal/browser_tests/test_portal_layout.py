"""The portal on a phone, and where the account-exists screen's remedies lead."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from .citizen import HAS_ACCOUNT, choose_bhxh, start, submit_form, typed_form

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from .citizen import Portal


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("width", [320, 375, 900])
def test_the_header_emblem_stays_round_on_a_phone(
    browser: Browser, portal: Portal, width: int, lang: str
) -> None:
    context = browser.new_context(base_url=portal.url, viewport={"width": width, "height": 700})
    phone = context.new_page()
    phone.goto(f"/lang/{lang}")

    box = phone.locator(".emblem").bounding_box()
    header = phone.locator(".masthead").bounding_box()
    assert box is not None
    assert header is not None
    assert box["width"] == pytest.approx(box["height"], abs=0.5)
    assert box["width"] == pytest.approx(2.4 * 16, abs=0.5)  # 2.4rem, not squashed
    assert header["width"] <= width  # nothing pushed off the screen
    context.close()


def test_each_remedy_of_an_existing_account_leads_somewhere(page: Page) -> None:
    start(page)
    choose_bhxh(page)
    submit_form(page, typed_form(HAS_ACCOUNT))

    page.locator("#remedy-service_counter").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Lấy lại mật khẩu tại quầy dịch vụ")).to_be_visible()
    expect(page.locator("#help-service_counter")).to_contain_text("Bộ phận Một cửa")
    page.go_back()
    page.locator("#remedy-complaint").get_by_role("link").click()
    expect(
        page.get_by_role("heading", name="Khiếu nại: tài khoản không phải của bạn")
    ).to_be_visible()
    page.go_back()
    page.locator("#remedy-forgot_password").get_by_role("button").click()
    expect(page.get_by_role("heading", name="Lấy lại mật khẩu")).to_be_visible()
