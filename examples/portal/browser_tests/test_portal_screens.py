"""The seed's five screens and every outcome, as a citizen goes through them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from playwright.sync_api import Page, expect

from .citizen import (
    GOOD_PASSWORD,
    HAS_ACCOUNT,
    NEW_CITIZEN,
    choose_bhxh,
    enter_otp,
    last_otp,
    reach_otp,
    reach_password,
    set_password,
    shoot,
    start,
    submit_form,
    typed_form,
    wrong,
)

if TYPE_CHECKING:
    from .citizen import Portal


def test_a_citizen_registers_reading_the_otp_from_the_dev_inbox(page: Page, portal: Portal) -> None:
    page.goto("/")
    shoot(page, portal, "01-home")
    start(page)
    shoot(page, portal, "02-choose-method")
    choose_bhxh(page)
    shoot(page, portal, "03-form")
    expect(page.locator("label[for=bhxh_number] .required")).to_have_text("*")
    expect(page.locator("label[for=email] .required")).to_have_count(0)
    submit_form(page, typed_form(NEW_CITIZEN, email="mau@example.vn"))
    expect(page.get_by_text("+849*****001")).to_be_visible()
    shoot(page, portal, "04-otp")

    inbox = page.context.new_page()
    inbox.goto("/dev/sms")
    expect(inbox.get_by_text("MÔI TRƯỜNG PHÁT TRIỂN").first).to_be_visible()
    shoot(inbox, portal, "09-dev-sms-inbox")
    expect(inbox.locator(".sms-meta").first).to_contain_text("DVCQG → +849*****001")
    expect(inbox.locator(".sms-meta").first).to_contain_text("mẫu tin regflow-otp-v1")
    text = inbox.locator(".sms-text").first.inner_text()
    assert text.startswith("DVCQG: Ma OTP dang ky tai khoan")
    code = re.findall(r"\b\d{6}\b", text)[0]
    inbox.close()

    enter_otp(page, code)
    expect(page.get_by_text("ít nhất 8 ký tự, gồm chữ thường, chữ hoa")).to_be_visible()
    shoot(page, portal, "05-password")
    set_password(page, GOOD_PASSWORD)
    expect(page.get_by_role("heading", name="Đăng ký tài khoản thành công")).to_be_visible()
    expect(page.get_by_text("Mức xác minh 2")).to_be_visible()
    shoot(page, portal, "06-completed")
    assert portal.accounts() == 2  # the demo's existing account and the new one


def test_field_errors_show_next_to_their_fields_and_keep_what_was_typed(
    page: Page, portal: Portal
) -> None:
    start(page)
    choose_bhxh(page)
    submit_form(page, typed_form(NEW_CITIZEN, bhxh_number="12345", phone="", full_name="Mẫu 1"))

    expect(page.locator("#bhxh_number-error")).to_have_text("Mã số BHXH gồm đúng 10 chữ số.")
    expect(page.locator("#phone-error")).to_have_text("Vui lòng nhập số điện thoại.")
    expect(page.locator("#full_name-error")).to_contain_text("chỉ gồm chữ cái")
    expect(page.locator("#date_of_birth-error")).to_have_count(0)
    expect(page.locator("#bhxh_number")).to_have_value("12345")
    expect(page.locator("#date_of_birth")).to_have_value("15/01/1990")
    shoot(page, portal, "03-form-errors")


def test_the_form_asks_for_the_cmnd_cccd_number_and_checks_it_against_bhxh(
    page: Page, portal: Portal
) -> None:
    start(page)
    choose_bhxh(page)
    expect(page.get_by_label("Số CMND/CCCD")).to_be_visible()
    submit_form(page, typed_form(NEW_CITIZEN, id_number=""))

    expect(page.locator("#id_number-error")).to_have_text("Vui lòng nhập số CMND/CCCD.")
    shoot(page, portal, "03-form-id-number")
    submit_form(page, {"id_number": "12345"})
    expect(page.locator("#id_number-error")).to_have_text(
        "Số CMND gồm 9 chữ số, số CCCD gồm 12 chữ số."
    )
    submit_form(page, {"id_number": "079200000003"})  # another citizen's number
    expect(page.get_by_role("heading", name="Không thể đăng ký tài khoản")).to_be_visible()


def test_password_errors_never_send_the_password_back(page: Page, portal: Portal) -> None:
    reach_password(page, portal)
    set_password(page, "short", "other")

    expect(page.locator("#password-error")).to_contain_text("ít nhất 8 ký tự")
    expect(page.locator("#confirmation-error")).to_have_text("Xác nhận mật khẩu không khớp.")
    expect(page.locator("#password")).to_have_value("")
    assert "short" not in page.content()
    shoot(page, portal, "05-password-errors")


def test_english_switch_translates_the_screens_and_regflows_errors(
    page: Page, portal: Portal
) -> None:
    start(page)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Choose registration method")).to_be_visible()
    page.get_by_label("Citizen").check()
    page.get_by_label("Social insurance").check()
    page.get_by_role("button", name="Continue").click()
    page.locator("#submit-details").click()

    expect(page.get_by_role("heading", name="Register with social insurance")).to_be_visible()
    expect(page.locator("#bhxh_number-error")).to_have_text("Enter the social insurance number.")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shoot(page, portal, "03-form-english")


def test_data_mismatch_says_the_account_cannot_be_registered_and_allows_a_fix(
    page: Page, portal: Portal
) -> None:
    start(page)
    choose_bhxh(page)
    submit_form(page, typed_form(NEW_CITIZEN, date_of_birth="16/01/1990"))

    expect(page.get_by_role("heading", name="Không thể đăng ký tài khoản")).to_be_visible()
    expect(page.get_by_text("không khớp với cơ sở dữ liệu BHXH")).to_be_visible()
    expect(page.locator("#tries-left")).to_have_text(
        "Còn 4 lần thử trước khi phiên đăng ký bị khóa."
    )
    shoot(page, portal, "07-data-mismatch")
    page.get_by_role("link", name="Nhập lại thông tin").click()
    expect(page.locator("#date_of_birth")).to_have_value("16/01/1990")
    expect(page.locator("#tries-left")).to_have_text(
        "Còn 4 lần thử trước khi phiên đăng ký bị khóa."
    )
    submit_form(page, {"date_of_birth": "15/01/1990"})
    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()


def test_an_existing_account_shows_the_three_remedies(page: Page, portal: Portal) -> None:
    start(page)
    choose_bhxh(page)
    submit_form(page, typed_form(HAS_ACCOUNT))

    expect(page.get_by_role("heading", name="Tài khoản đã tồn tại")).to_be_visible()
    remedies = page.locator(".remedies li strong")
    expect(remedies).to_have_text(["Quên mật khẩu", "Quầy dịch vụ", "Khiếu nại"])
    shoot(page, portal, "08-account-exists")


def test_five_wrong_otps_lock_the_registration(page: Page, portal: Portal) -> None:
    reach_otp(page)
    expect(page.locator("#tries-left")).to_have_count(0)  # nothing to warn of yet
    for left in (4, 3, 2, 1):
        enter_otp(page, wrong(last_otp(portal)))
        expect(page.locator("#code-error")).to_have_text("Mã OTP không đúng.")
        expect(page.locator("#tries-left")).to_have_text(
            f"Còn {left} lần thử trước khi phiên đăng ký bị khóa."
        )
    page.reload()
    expect(page.locator("#tries-left")).to_have_count(0)  # the warning goes with its error
    enter_otp(page, wrong(last_otp(portal)))

    expect(page.get_by_role("heading", name="Phiên đăng ký đã bị khóa")).to_be_visible()
    shoot(page, portal, "10-locked")
    page.get_by_role("button", name="Đăng ký lại từ đầu").click()
    expect(page.get_by_role("heading", name="Chọn phương thức đăng ký")).to_be_visible()


def test_the_warnings_before_a_lock_in_english(page: Page, portal: Portal) -> None:
    start(page)
    choose_bhxh(page)
    page.get_by_role("link", name="English").click()
    submit_form(page, typed_form(NEW_CITIZEN, date_of_birth="16/01/1990"))
    expect(page.locator("#tries-left")).to_have_text(
        "4 tries left before this registration is locked."
    )
    page.get_by_role("link", name="Correct the details").click()
    submit_form(page, {"date_of_birth": "15/01/1990"})
    for _ in range(4):
        enter_otp_in_english(page, wrong(last_otp(portal)))

    expect(page.locator("#tries-left")).to_have_text(
        "1 try left before this registration is locked."
    )


def enter_otp_in_english(page: Page, code: str) -> None:
    page.locator("#code").fill(code)
    page.get_by_role("button", name="Confirm").click()


def test_a_registration_left_past_its_lifetime_shows_as_expired(page: Page, portal: Portal) -> None:
    reach_otp(page)
    clock = portal.services.dev_clock
    assert clock is not None
    clock.advance(timedelta(minutes=31))
    page.reload()

    expect(page.get_by_role("heading", name="Phiên đăng ký đã hết hạn")).to_be_visible()
    shoot(page, portal, "11-expired")
    enter_otp_is_gone = page.locator("#code")
    expect(enter_otp_is_gone).to_have_count(0)
