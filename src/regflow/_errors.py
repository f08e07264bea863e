"""Every rejection the flow can give, with a stable code and its vi/en message.

The catalogue is the single place where codes and messages live: the engine reports
`FlowError`s built from it, the docs list it, and host apps translate nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from collections.abc import Mapping


@attrs.frozen
class Message:
    """A text in Vietnamese (the portal's language) and English."""

    vi: str
    en: str

    def in_language(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


@attrs.frozen
class ErrorSpec:
    """A documented error: its code, whether retrying the same request can help, its text."""

    code: str
    message: Message
    retryable: bool = False


@attrs.frozen(kw_only=True)
class FlowError:
    """One rejection reported to the host app.

    `field` names the form field the error belongs to (None for flow-level errors);
    `retry_at` says when a rate-limited request may be repeated.
    """

    code: str
    message: Message
    field: str | None = None
    retryable: bool = False
    retry_at: datetime | None = None


def _spec(code: str, vi: str, en: str, *, retryable: bool = False) -> ErrorSpec:
    return ErrorSpec(code, Message(vi, en), retryable)


_CATALOGUE = (
    # choosing the method
    _spec(
        "method.unsupported",
        "Phương thức đăng ký này chưa được hỗ trợ.",
        "This registration method is not supported.",
    ),
    # the BHXH form, one code per broken field rule
    _spec(
        "bhxh_number.required", "Vui lòng nhập mã số BHXH.", "Enter the social insurance number."
    ),
    _spec(
        "bhxh_number.invalid",
        "Mã số BHXH gồm đúng 10 chữ số.",
        "The social insurance number has exactly 10 digits.",
    ),
    _spec("full_name.required", "Vui lòng nhập họ và tên.", "Enter your full name."),
    _spec(
        "full_name.invalid",
        "Họ và tên chỉ gồm chữ cái và khoảng trắng, tối đa 100 ký tự.",
        "The full name holds letters and spaces only, at most 100 characters.",
    ),
    _spec("date_of_birth.required", "Vui lòng nhập ngày sinh.", "Enter your date of birth."),
    _spec(
        "date_of_birth.invalid",
        "Ngày sinh không hợp lệ (định dạng dd/mm/yyyy).",
        "The date of birth is not a valid date (dd/mm/yyyy).",
    ),
    _spec(
        "date_of_birth.out_of_range",
        "Ngày sinh phải từ ngày 01/01/1900 đến hôm nay.",
        "The date of birth must be from 01/01/1900 to today.",
    ),
    _spec("phone.required", "Vui lòng nhập số điện thoại.", "Enter your phone number."),
    _spec(
        "phone.invalid",
        "Số điện thoại phải là số di động Việt Nam hợp lệ.",
        "The phone number must be a valid Vietnamese mobile number.",
    ),
    _spec("email.invalid", "Địa chỉ email không hợp lệ.", "The email address is not valid."),
    _spec("id_number.required", "Vui lòng nhập số CMND/CCCD.", "Enter your CMND/CCCD number."),
    _spec(
        "id_number.invalid",
        "Số CMND gồm 9 chữ số, số CCCD gồm 12 chữ số.",
        "A CMND number has 9 digits, a CCCD number 12.",
    ),
    # the check against BHXH
    _spec(
        "bhxh.data_mismatch",
        "Thông tin không khớp với cơ sở dữ liệu BHXH. Không thể đăng ký tài khoản.",
        "The details do not match the social insurance database. The account cannot be registered.",
    ),
    _spec(
        "bhxh.mismatch_limit",
        "Thông tin không khớp quá nhiều lần. Phiên đăng ký đã bị khóa.",
        "The details did not match too many times. This registration is locked.",
    ),
    _spec(
        "bhxh.unavailable",
        "Hệ thống BHXH đang bận. Vui lòng thử lại sau.",
        "The social insurance service is unavailable. Please try again later.",
        retryable=True,
    ),
    _spec(
        "bhxh.record_invalid",
        "Hồ sơ BHXH của bạn có thông tin chưa hợp lệ (lỗi dữ liệu tại cơ quan BHXH, không phải "
        "do bạn nhập sai). Vui lòng liên hệ cơ quan BHXH hoặc thử lại sau.",
        "Your social insurance record holds a value that is not valid (an error in the "
        "agency's data, not in what you typed). Contact the social insurance agency or try "
        "again later.",
        retryable=True,
    ),
    _spec(
        "account.exists",
        "Đã tồn tại tài khoản với số CMT/CCCD của bạn.",
        "An account already exists for your identity card number.",
    ),
    _spec(
        # a host's veto at the registration's `account_creation_veto` hook (docs/hooks.md)
        "account.creation_vetoed",
        "Chưa thể tạo tài khoản cho hồ sơ này. Vui lòng liên hệ bộ phận hỗ trợ của cổng.",
        "An account cannot be created for this record. Please contact the portal's support.",
    ),
    # the OTP
    _spec(
        "otp.invalid",
        "Mã OTP không đúng.",
        "The OTP is not correct.",
    ),
    _spec(
        "otp.expired",
        "Mã OTP đã hết hạn. Vui lòng bấm “Gửi lại OTP”.",
        "The OTP has expired. Press “Resend OTP”.",
    ),
    _spec(
        "otp.not_sent",
        "Chưa có mã OTP nào được gửi. Vui lòng bấm “Gửi lại OTP”.",
        "No OTP has been sent yet. Press “Resend OTP”.",
    ),
    _spec(
        "otp.too_many_attempts",
        "Nhập sai OTP quá số lần cho phép. Phiên đăng ký đã bị khóa.",
        "Too many wrong OTP entries. This registration is locked.",
    ),
    _spec(
        "otp.resend_too_soon",
        "Chưa thể gửi lại OTP. Vui lòng chờ.",
        "The OTP cannot be resent yet. Please wait.",
    ),
    _spec(
        "otp.send_limit",
        "Đã gửi OTP quá số lần cho phép.",
        "The OTP has been sent the maximum number of times.",
    ),
    _spec(
        "sms.unavailable",
        "Không gửi được tin nhắn OTP. Vui lòng bấm “Gửi lại OTP”.",
        "The OTP text message could not be sent. Press “Resend OTP”.",
        retryable=True,
    ),
    # the password, one code per broken rule of its profile (the seed's by default)
    _spec(
        "password.too_short",
        "Mật khẩu phải có ít nhất 8 ký tự.",
        "The password must have at least 8 characters.",
    ),
    _spec(
        "password.no_lowercase",
        "Mật khẩu phải có chữ thường.",
        "The password must contain a lowercase letter.",
    ),
    _spec(
        "password.no_uppercase",
        "Mật khẩu phải có chữ hoa.",
        "The password must contain an uppercase letter.",
    ),
    _spec(
        "password.no_digit",
        "Mật khẩu phải có chữ số (0–9).",
        "The password must contain a digit (0–9).",
    ),
    _spec(
        "password.no_special",
        "Mật khẩu phải có ký tự đặc biệt (không phải chữ cái hay chữ số), như ! @ # hoặc dấu cách.",
        "The password must contain a special character (not a letter or digit), "
        "such as ! @ # or a space.",
    ),
    _spec(
        "password.too_long",
        "Mật khẩu tối đa 128 ký tự.",
        "The password has at most 128 characters.",
    ),
    _spec(
        "password.invalid_character",
        "Mật khẩu không được chứa ký tự điều khiển hay ký tự vô hình (như tab, xuống dòng).",
        "The password must not contain control or invisible characters (a tab, a line break).",
    ),
    _spec(
        "password.common",
        "Mật khẩu này quá phổ biến, dễ bị đoán. Vui lòng chọn mật khẩu khác.",
        "This password is too common and easily guessed. Please choose another.",
    ),
    _spec(
        "password.personal_data",
        "Mật khẩu không được chứa họ tên, ngày sinh, số giấy tờ hay số điện thoại của bạn.",
        "The password must not contain your name, date of birth, ID numbers or phone number.",
    ),
    _spec(
        "password.mismatch",
        "Xác nhận mật khẩu không khớp.",
        "The password confirmation does not match.",
    ),
    # limits across flows (each with the time it may be tried again in `retry_at`)
    _spec(
        "client.start_rate_limited",
        "Có quá nhiều phiên đăng ký được mở từ thiết bị này. Vui lòng thử lại sau.",
        "Too many registrations were begun from this device. Please try again later.",
    ),
    _spec(
        "client.rate_limited",
        "Có quá nhiều yêu cầu đăng ký từ thiết bị này. Vui lòng thử lại sau.",
        "Too many registration attempts from this device. Please try again later.",
    ),
    _spec(
        "client.mismatch_rate_limited",
        "Thiết bị này đã gửi quá nhiều thông tin không khớp với cơ sở dữ liệu BHXH. "
        "Vui lòng thử lại sau.",
        "Too many details from this device did not match the social insurance database. "
        "Please try again later.",
    ),
    _spec(
        "bhxh.number_probed",
        "Vì lý do an toàn, nếu thông tin khớp với hồ sơ BHXH, mã OTP đã được gửi tới số điện "
        "thoại trong hồ sơ. Nếu không nhận được mã, vui lòng kiểm tra lại thông tin.",
        "For your security: if the details match the social insurance record, the OTP was "
        "sent to the phone on that record. If no code arrives, check the details.",
    ),
    _spec(
        "otp.guess_rate_limited",
        "Mã OTP đã bị nhập sai quá nhiều lần cho hồ sơ này. Vui lòng thử lại sau.",
        "Too many wrong OTPs were entered for this record. Please try again later.",
    ),
    _spec(
        "otp.send_rate_limited",
        "Số điện thoại này đã nhận quá nhiều mã OTP. Vui lòng thử lại sau.",
        "Too many OTPs were sent to this phone number. Please try again later.",
    ),
    # the flow itself
    _spec(
        "flow.not_found",
        "Không tìm thấy phiên đăng ký. Vui lòng bắt đầu lại.",
        "The registration was not found. Please start again.",
    ),
    _spec(
        "flow.unknown",
        "Hệ thống không có quy trình này.",
        "This portal runs no such flow.",
    ),
    _spec(
        "flow.expired",
        "Phiên đăng ký đã hết hạn. Vui lòng bắt đầu lại.",
        "The registration has expired. Please start again.",
    ),
    _spec(
        "flow.locked",
        "Phiên đăng ký đã bị khóa.",
        "This registration is locked.",
    ),
    _spec(
        "flow.finished",
        "Phiên đăng ký đã kết thúc.",
        "This registration has already finished.",
    ),
    _spec(
        # A flow stored on a version of its declaration this server does not run (a newer
        # server's, during a rolling deploy): another server, or this one upgraded, can.
        "flow.version_unknown",
        "Hệ thống đang được nâng cấp. Vui lòng thử lại sau ít phút.",
        "The service is being upgraded. Please try again in a few minutes.",
        retryable=True,
    ),
    _spec(
        "flow.conflict",
        "Phiên đăng ký vừa được cập nhật ở nơi khác. Vui lòng thử lại.",
        "The registration was changed by another request. Please try again.",
        retryable=True,
    ),
    _spec(
        "event.not_allowed",
        "Thao tác này không hợp lệ ở bước hiện tại.",
        "This action is not allowed at the current step.",
    ),
    _spec(
        # No transition of the declaration applies (e.g. "Xác nhận" on an expired code
        # after the host's clock stepped back): the flow is as it was.
        "event.no_effect",
        "Thao tác không làm thay đổi phiên đăng ký. Vui lòng tải lại trang.",
        "The action changed nothing in the registration. Please reload the page.",
    ),
    _spec(
        "event.invalid",
        "Yêu cầu không hợp lệ.",
        "The request is not valid.",
    ),
    # a request a JSON host (examples/api) refuses before the flow sees it
    _spec(
        "request.malformed",
        "Yêu cầu không phải là JSON hợp lệ.",
        "The request body is not valid JSON of the expected shape.",
    ),
    _spec("request.too_large", "Yêu cầu quá lớn.", "The request is too large."),
    _spec("request.not_found", "Không có địa chỉ này.", "There is no such address."),
    _spec(
        # a POST without the host's anti-CSRF header: not sent by the host's own front-end
        "request.header_missing",
        "Yêu cầu thiếu tiêu đề bảo vệ của ứng dụng.",
        "The request lacks the application's protective header.",
    ),
    _spec("request.field_missing", "Vui lòng điền trường này.", "This field is missing."),
    _spec(
        "request.field_type",
        "Giá trị của trường này phải là chuỗi ký tự.",
        "This field's value must be text.",
    ),
    _spec(
        "request.field_unknown",
        "Trường này không thuộc bước hiện tại.",
        "This field is not part of the current step.",
    ),
    _spec("request.field_too_long", "Giá trị quá dài.", "The value is too long."),
    _spec(
        "request.field_invalid",
        "Giá trị không đúng định dạng.",
        "The value does not have the expected form.",
    ),
    _spec(
        "storage.unavailable",
        "Hệ thống đang bận. Vui lòng thử lại sau.",
        "The service is temporarily unavailable. Please try again later.",
        retryable=True,
    ),
    _spec(
        # a host's veto failed (raised): the step is not taken, and may be sent again
        "hook.unavailable",
        "Hệ thống đang bận. Vui lòng thử lại sau.",
        "The service is temporarily unavailable. Please try again later.",
        retryable=True,
    ),
    _spec(
        "hasher.unavailable",
        "Chưa lưu được mật khẩu. Vui lòng bấm “Đăng ký” lại.",
        "The password could not be saved. Press “Register” again.",
        retryable=True,
    ),
)

ERRORS: dict[str, ErrorSpec] = {spec.code: spec for spec in _CATALOGUE}


def flow_error(
    code: str,
    *,
    field: str | None = None,
    retry_at: datetime | None = None,
    catalogue: Mapping[str, ErrorSpec] = ERRORS,
) -> FlowError:
    """Build the reported error for a catalogued `code` (a KeyError names a typo at once);
    `catalogue` is regflow's codes, or an engine's with its flows' own."""
    spec = catalogue[code]
    return FlowError(
        code=code,
        message=spec.message,
        field=field,
        retryable=spec.retryable,
        retry_at=retry_at,
    )


class PortUnavailableError(Exception):
    """An outside service (BHXH, SMS, storage) failed; the request may be retried.

    Adapters may raise it or anything else: the engine maps every failure of a port call
    to the port's retryable error code and never to a user error.
    """


class DuplicateAccountError(Exception):
    """`UserStore.add` found an account for the same ID or BHXH number (a lost race)."""


class StaleFlowError(Exception):
    """`FlowStore.save` found a newer version than the one the step was computed from."""
