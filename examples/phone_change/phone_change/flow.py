"""The phone change ("Đổi số điện thoại"), declared with regflow's public API: `PHONE_CHANGE`.

The citizen gives their login, their password and the new phone → the new phone gets an
OTP → the right code moves the account to the new phone (the host's `AccountPhones` port).
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs

from regflow import (
    EXPIRE,
    Account,
    ErrorSpec,
    FlowSpec,
    Message,
    OtpContext,
    OtpKit,
    Step,
    event,
    fact,
    flow_expired,
    mask_phone,
    normalise_phone,
    rule,
    state,
)
from regflow.declare import FLOW_EXPIRED, FLOW_LOCKED, call_port
from regflow.kits.otp import OTP_EVENTS, OTP_EXPIRED_STATE, OTP_PENDING_STATE, otp_view

if TYPE_CHECKING:
    from collections.abc import Mapping

    from phone_change.phones import AccountPhones
    from regflow import FlowSnapshot
    from regflow.declare import Services


class PhoneChangeState(enum.StrEnum):
    """The steps of a phone change."""

    ENTERING_REQUEST = "entering_request"
    OTP_PENDING = "otp_pending"
    OTP_EXPIRED = "otp_expired"
    COMPLETED = "completed"
    LOCKED = "locked"
    EXPIRED = "expired"


@attrs.frozen
class RequestPhoneChange:
    """The "Đổi số điện thoại" screen, as typed; no repr shows the password or a number."""

    login: str = attrs.field(repr=False)
    password: str = attrs.field(repr=False)
    new_phone: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class PhoneChangeContext(OtpContext):
    """What a phone change remembers: whose account, and the phone it moves to."""

    account: Account | None = None
    new_phone: str | None = attrs.field(default=None, repr=False)


# --- facts: what the rules read, each computed once per request ------------------------------

_LOGIN_LENGTHS: Final = (9, 12)  # a CMND or a CCCD number


@fact
def login(step: Step) -> str | None:
    """The typed login without spaces, if it has a login's shape (the store's contract)."""
    typed = "".join(step.payload(RequestPhoneChange).login.split())
    shaped = typed.isascii() and typed.isdigit() and len(typed) in _LOGIN_LENGTHS
    return typed if shaped else None


@fact
def account_by_login(step: Step) -> Account | None:
    found = login(step)
    return None if found is None else call_port("storage", step.users.find_by_login, found)


@fact
def account(step: Step) -> Account:
    """The flow's account: remembered, or just found by the login (the rules made sure)."""
    found = step.context.account or account_by_login(step)
    assert found is not None  # noqa: S101 - `credentials_wrong` stops a flow without one
    return found


@fact
def new_phone(step: Step) -> str | None:
    """The new phone in E.164 form: remembered, or as typed (None: it is no mobile)."""
    remembered: str | None = step.context.new_phone
    return remembered or normalise_phone(step.payload(RequestPhoneChange).new_phone)


def phones(step: Step) -> AccountPhones:
    """The host's port, given to `Engine(ports={"phones": …})`."""
    port: AccountPhones = step.services.port("phones")
    return port


@fact
def current_phone(step: Step) -> str:
    """The phone the account is reached on now: the portal's, or the registered one."""
    changed = call_port("phones", phones(step).phone, account(step).account_id)
    return changed or account(step).phone


# --- the rules: one per business rule, named after it ----------------------------------------


@rule(
    "phone_change.phone_invalid",
    vi="Số điện thoại mới không phải số di động Việt Nam.",
    en="The new phone is no Vietnamese mobile number.",
    field="new_phone",
)
def new_phone_invalid(step: Step) -> bool:
    return new_phone(step) is None


@rule(
    "phone_change.credentials_wrong",
    vi="Tên đăng nhập hoặc mật khẩu sai (không nói cái nào).",
    en="The login or the password is wrong (it does not say which).",
)
def credentials_wrong(step: Step) -> bool:
    found = account_by_login(step)
    if found is None:
        return True
    stored = call_port("storage", step.users.password_hash, found.account_id)
    typed = step.payload(RequestPhoneChange).password
    return stored is None or not call_port("hasher", step.hasher.verify, stored, typed)


@rule(
    "phone_change.phone_unchanged",
    vi="Số điện thoại mới trùng số đang dùng.",
    en="The new phone is the one the account already has.",
    field="new_phone",
)
def phone_unchanged(step: Step) -> bool:
    return new_phone(step) == normalise_phone(current_phone(step))


# --- the actions ------------------------------------------------------------------------------

#: The OTP goes to the NEW phone: a right code proves the citizen holds it. Wrong codes
#: count against the account's BHXH number, with those of regflow's own flows.
otp = OtpKit(phone=new_phone, holder=lambda step: account(step).bhxh_number)


def send_code(step: Step) -> None:
    """Remember the request, then text a code to the new phone."""
    step.changes.update(account=account(step), new_phone=new_phone(step))
    otp.send_otp(step)


def change_phone(step: Step) -> None:
    """The code was right: the host moves the account to the new phone."""
    phone = step.context.new_phone
    assert phone is not None  # noqa: S101 - `send_code` remembered it
    call_port("phones", phones(step).change_phone, account(step).account_id, phone)


# --- the declaration --------------------------------------------------------------------------

S = PhoneChangeState

STATES: Final = {
    S.ENTERING_REQUEST: state("Nhập yêu cầu", "Entering the request"),
    S.OTP_PENDING: OTP_PENDING_STATE,
    S.OTP_EXPIRED: OTP_EXPIRED_STATE,
    S.COMPLETED: state("Đã đổi số", "Phone changed", terminal="flow.finished"),
    S.LOCKED: FLOW_LOCKED,
    S.EXPIRED: FLOW_EXPIRED,
}

EVENTS: Final = {
    "request_phone_change": event(RequestPhoneChange, "Tiếp tục", "Continue"),
    **OTP_EVENTS,
}

ACTIVE: Final = [s for s, info in STATES.items() if not info.terminal]

TRANSITIONS: Final[list[dict[str, Any]]] = [
    {"trigger": EXPIRE, "source": ACTIVE, "dest": S.EXPIRED, "conditions": [flow_expired]},
    # The request: each rule stops it with its own code, in the order written.
    {"trigger": "request_phone_change", "source": S.ENTERING_REQUEST, "dest": None,
     "conditions": [new_phone_invalid]},
    {"trigger": "request_phone_change", "source": S.ENTERING_REQUEST, "dest": None,
     "conditions": [credentials_wrong]},
    {"trigger": "request_phone_change", "source": S.ENTERING_REQUEST, "dest": None,
     "conditions": [phone_unchanged]},
    {"trigger": "request_phone_change", "source": S.ENTERING_REQUEST, "dest": S.OTP_PENDING,
     "after": [send_code]},
    # The OTP kit's edges; the right code changes the phone.
    *otp.confirm(pending=S.OTP_PENDING, expired=S.OTP_EXPIRED, locked=S.LOCKED,
                 confirmed=[{"dest": S.COMPLETED, "before": [change_phone]}]),
    *otp.resend(pending=S.OTP_PENDING, expired=S.OTP_EXPIRED),
]  # fmt: skip

ERRORS: Final = (
    ErrorSpec(
        "phone_change.phone_invalid",
        Message(
            "Số điện thoại mới không hợp lệ (số di động Việt Nam, ví dụ 0912 345 678).",
            "The new phone is not valid (a Vietnamese mobile, e.g. 0912 345 678).",
        ),
    ),
    ErrorSpec(
        "phone_change.credentials_wrong",
        Message(
            "Tên đăng nhập hoặc mật khẩu không đúng.",
            "The login or the password is wrong.",
        ),
    ),
    ErrorSpec(
        "phone_change.phone_unchanged",
        Message(
            "Số điện thoại mới trùng với số đang dùng.",
            "The new phone is the one your account already uses.",
        ),
    ),
    ErrorSpec(
        "phones.unavailable",
        Message(
            "Chưa đổi được số điện thoại. Vui lòng thử lại sau.",
            "The phone could not be changed yet. Please try again later.",
        ),
        retryable=True,
    ),
)


def phone_change_view(snapshot: FlowSnapshot, services: Services) -> Mapping[str, Any]:
    """The OTP screen shows the new phone, masked; a finished change shows nothing more."""
    context: PhoneChangeContext = snapshot.context
    if snapshot.state in (S.OTP_PENDING, S.OTP_EXPIRED):
        hint = mask_phone(context.new_phone) if context.new_phone else None
        return otp_view(context, services.policy, phone_hint=hint)
    return {}


def _id_number(context: PhoneChangeContext) -> str | None:
    """Whom the logs say the flow is about (they mask it)."""
    return context.account.id_number if context.account else None


PHONE_CHANGE: Final = FlowSpec(
    name="phone_change",
    title=Message("Đổi số điện thoại", "Change the phone number"),
    states=STATES,
    initial=S.ENTERING_REQUEST,
    events=EVENTS,
    transitions=TRANSITIONS,
    context=PhoneChangeContext,
    lifetime=timedelta(minutes=15),
    view=phone_change_view,
    subject=_id_number,
    requires={"users", "hasher", "sms", "phones"},
    errors=ERRORS,
)
