"""The password recovery ("Quên mật khẩu"), declared once: `PASSWORD_RECOVERY`.

The seed's remedy for an account that already exists. The citizen gives the login (the
CMND/CCCD number the account is known by) → the account's phone gets an OTP → the code is
confirmed → a new password under the registration's policy replaces the stored hash, and the
old password stops working.

It must not tell who has an account: a login with no account (or one whose recoveries or
texts are used up) gets a decoy, a challenge whose code nobody receives, and every answer
of the flow, its view, its errors and its limits, is the same as for a real account until a
right code proves the citizen holds the account's phone.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs

from regflow._domain import Account
from regflow._errors import ErrorSpec, Message
from regflow._masking import mask_id
from regflow._passwords import PersonalData
from regflow.declare import (
    EXPIRE,
    FLOW_EXPIRED,
    FLOW_LOCKED,
    FlowSpec,
    Step,
    call_port,
    client_limit,
    event,
    fact,
    flow_expired,
    rule,
    state,
    ui,
)
from regflow.kits.otp import (
    OTP_EVENTS,
    OTP_EXPIRED_STATE,
    OTP_PENDING_STATE,
    OtpContext,
    OtpKit,
    otp_view,
)
from regflow.kits.password import PasswordKit, SetPassword, password_hash
from regflow.vn._validation import id_number_digits, id_number_problem

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from regflow._errors import FlowError
    from regflow.declare import FlowSnapshot, Services


def _masked(number: object) -> str:
    return repr(mask_id(number)) if isinstance(number, str) else "<hidden>"


class RecoveryState(enum.StrEnum):
    """The steps of the password recovery."""

    ENTERING_LOGIN = "entering_login"
    OTP_PENDING = "otp_pending"
    OTP_EXPIRED = "otp_expired"
    SETTING_PASSWORD = "setting_password"  # noqa: S105 - a state, not a secret
    COMPLETED = "completed"
    LOCKED = "locked"
    EXPIRED = "expired"


@attrs.frozen
class SubmitLogin:
    """The "Quên mật khẩu" screen: the login (CMND/CCCD number) as typed."""

    login: str = attrs.field(
        repr=_masked, metadata=ui("Tên đăng nhập (số CMND/CCCD)", "Login (CMND/CCCD number)")
    )


@attrs.frozen(kw_only=True)
class RecoveryContext(OtpContext):
    """What a recovery remembers: the account the login found (None in a decoy)."""

    account: Account | None = None


# --- the login --------------------------------------------------------------------------------


def login_problem(typed: object) -> str | None:
    """Why `typed` is no login (its error code), or None when it is one: a login is a
    CMND/CCCD number (`regflow.vn.id_number_problem`)."""
    problem = id_number_problem(typed)
    return None if problem is None else f"login.{problem}"


@fact
def login(step: Step) -> str | None:
    """The typed login as the store knows it (ASCII digits, no spaces); None when it is
    not one (`login_invalid` says why)."""
    typed = step.payload(SubmitLogin).login
    return None if login_problem(typed) else id_number_digits(typed)


@fact
def account_by_login(step: Step) -> Account | None:
    typed = login(step)
    assert typed is not None  # noqa: S101 - login_invalid is checked first
    return call_port("storage", step.users.find_by_login, typed)


@fact
def account(step: Step) -> Account:
    """The flow's account: remembered, or just found by the login (never in a decoy)."""
    found = step.context.account or account_by_login(step)
    assert found is not None  # noqa: S101 - a real code is sent only for an account
    return found


#: The OTP challenge of the recovery: codes go to the account's phone, wrong codes count
#: against its BHXH number, with the registration's.
otp = OtpKit(
    phone=lambda step: account(step).phone,
    holder=lambda step: account(step).bhxh_number,
)
#: The recovery's password rule: a standards profile refuses the account's data.
passwords = PasswordKit(
    personal=lambda step: PersonalData.of(account(step), account(step).bhxh_number)
)

# --- rules and actions ----------------------------------------------------------------------


def _login_error(step: Step) -> Sequence[FlowError]:
    code = login_problem(step.payload(SubmitLogin).login)
    return [step.error(code, field="login")] if code else []


@rule(
    "login.required",
    "login.invalid",
    vi="Tên đăng nhập là số CMND (9 chữ số) hoặc CCCD (12 chữ số).",
    en="The login is a CMND (9 digits) or CCCD (12 digits) number.",
    report=_login_error,
)
def login_invalid(step: Step) -> bool:
    return login(step) is None


recovery_rate_limited = client_limit(
    "recovery_rate_limited",
    "recovery.rate_limited",
    "recovery_client",
    lambda limits: limits.recoveries_per_client,
    vi="Thiết bị/địa chỉ này đã yêu cầu lấy lại mật khẩu quá nhiều lần (mọi phiên).",
    en="The client key asked for too many password recoveries, across flows.",
)


def answer_login(step: Step) -> None:
    """Answer every valid login alike: a real code to the phone of the account it names,
    a decoy when there is no account, its recoveries are used up, or its phone has no texts
    left. The flow is `probed` from the start, so that no limit tells the two apart later."""
    step.changes["probed"] = True
    found = account_by_login(step)
    limits = step.services.policy.rate_limits.recoveries_per_login
    used_up = step.over_limit("recovery_login", login(step), limits)
    if found is None or used_up or otp.phone_used_up(step, found.phone):
        otp.send_decoy(step, None)
    else:
        step.changes["account"] = found
        otp.send_otp(step)


def replace_password(step: Step) -> None:
    """Store the new password's hash in place of the old one: the old password stops
    working at once (the store refuses an account that is gone: a storage outage)."""
    hashed = password_hash(step)
    call_port("storage", step.users.set_password_hash, account(step).account_id, hashed)


# --- the declaration --------------------------------------------------------------------------

R = RecoveryState

STATES: Final = {
    R.ENTERING_LOGIN: state("Nhập tên đăng nhập", "Entering the login"),
    R.OTP_PENDING: OTP_PENDING_STATE,
    R.OTP_EXPIRED: OTP_EXPIRED_STATE,
    R.SETTING_PASSWORD: state("Đặt mật khẩu mới", "Setting a new password"),
    R.COMPLETED: state("Đã đổi mật khẩu", "Password changed", terminal="flow.finished"),
    R.LOCKED: FLOW_LOCKED,
    R.EXPIRED: FLOW_EXPIRED,
}

EVENTS: Final = {
    "submit_login": event(SubmitLogin, "Tiếp tục (gửi tên đăng nhập)", "Continue (the login)"),
    **OTP_EVENTS,
    "set_password": event(SetPassword, "Đổi mật khẩu", "Change the password"),
}

ACTIVE: Final = [s for s, info in STATES.items() if not info.terminal]

TRANSITIONS: Final[list[dict[str, Any]]] = [
    {"trigger": EXPIRE, "source": ACTIVE, "dest": R.EXPIRED, "conditions": [flow_expired]},
    # The login: checked for its shape, then answered alike whether an account has it.
    {"trigger": "submit_login", "source": R.ENTERING_LOGIN, "dest": None,
     "conditions": [login_invalid]},
    {"trigger": "submit_login", "source": R.ENTERING_LOGIN, "dest": None,
     "conditions": [recovery_rate_limited]},
    {"trigger": "submit_login", "source": R.ENTERING_LOGIN, "dest": R.OTP_PENDING,
     "after": [answer_login]},
    # The OTP sent to the account's phone (the kit's edges).
    # It is probed from its first step: no limit and no failed text is ever told.
    *otp.confirm(pending=R.OTP_PENDING, expired=R.OTP_EXPIRED, locked=R.LOCKED,
                 confirmed=[{"dest": R.SETTING_PASSWORD}], always_probed=True),
    *otp.resend(pending=R.OTP_PENDING, expired=R.OTP_EXPIRED, always_probed=True),
    # The new password, under the registration's policy, replaces the old one.
    {"trigger": "set_password", "source": R.SETTING_PASSWORD, "dest": None,
     "conditions": [passwords.invalid]},
    {"trigger": "set_password", "source": R.SETTING_PASSWORD, "dest": R.COMPLETED,
     "before": [replace_password]},
]  # fmt: skip

ERRORS: Final = (
    ErrorSpec(
        "login.required",
        Message("Vui lòng nhập số CMND/CCCD.", "Enter your CMND/CCCD number."),
    ),
    ErrorSpec(
        "login.invalid",
        Message(
            "Số CMND gồm 9 chữ số, số CCCD gồm 12 chữ số.",
            "A CMND number has 9 digits, a CCCD number 12.",
        ),
    ),
    ErrorSpec(
        "recovery.rate_limited",
        Message(
            "Thiết bị này đã yêu cầu lấy lại mật khẩu quá nhiều lần. Vui lòng thử lại sau.",
            "Too many password recoveries were asked from this device. Please try again later.",
        ),
    ),
)


def recovery_view(snapshot: FlowSnapshot, services: Services) -> Mapping[str, Any]:
    """The OTP screen shows no phone (it would tell that an account exists); a completed
    recovery shows its account."""
    current, context = snapshot.state, snapshot.context
    if current in (R.OTP_PENDING, R.OTP_EXPIRED):
        return otp_view(context, services.policy, phone_hint=None)
    if current is R.COMPLETED:
        return {"account": context.account}
    return {}


def _account_id_number(context: RecoveryContext) -> str | None:
    return context.account.id_number if context.account else None


#: How long a recovery lives: a login, a code and a password take minutes.
LIFETIME: Final = timedelta(minutes=15)

PASSWORD_RECOVERY: Final = FlowSpec(
    name="password_recovery",
    title=Message("Quên mật khẩu", "Password recovery"),
    states=STATES,
    initial=R.ENTERING_LOGIN,
    events=EVENTS,
    transitions=TRANSITIONS,
    context=RecoveryContext,
    lifetime=LIFETIME,
    view=recovery_view,
    subject=_account_id_number,
    requires={"sms", "users", "hasher"},
    errors=ERRORS,
)
