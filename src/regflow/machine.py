"""The registration flow, declared once.

This module is the single source of truth: the engine compiles `TRANSITIONS` into its
dispatch table, and the docs and diagrams are rendered from the same `MACHINE`. Read it
top to bottom as the seed's steps; within one trigger and source, transitions are tried in
the order written and the first whose guards all pass is taken (a transition without
guards is the "otherwise" case and comes last).

A transition whose ``dest`` is ``None`` rejects the event and stays in its state; its guard's
error codes tell the citizen why.
"""

from __future__ import annotations

from typing import Any, Final

from transitions import Machine

from regflow._domain import (
    ChooseMethod,
    ConfirmOtp,
    Event,
    ResendOtp,
    SetPassword,
    State,
    SubmitForm,
)
from regflow._errors import Message
from regflow._rules import (
    account_exists,
    answer_probed,
    bhxh_number_probed,
    client_mismatch_rate_limited,
    client_rate_limited,
    count_mismatch,
    count_wrong_otp,
    create_account,
    data_mismatch,
    flow_expired,
    form_invalid,
    method_unsupported,
    mismatch_limit_reached,
    otp_expired,
    otp_guess_rate_limited,
    otp_not_sent,
    otp_send_rate_limited,
    otp_wrong,
    password_invalid,
    record_method,
    remember_citizen,
    resend_too_soon,
    send_limit_reached,
    send_otp,
    spend_otp,
    too_many_attempts,
)

S = State

INITIAL: Final = S.CHOOSING_METHOD

#: Terminal states, each with the error an event on a finished flow reports.
TERMINAL: Final[dict[State, str]] = {
    S.COMPLETED: "flow.finished",
    S.ACCOUNT_EXISTS: "flow.finished",
    S.LOCKED: "flow.locked",
    S.EXPIRED: "flow.expired",
}

ACTIVE: Final = [state for state in S if state not in TERMINAL]
_FORM: Final = [S.FILLING_FORM, S.DATA_MISMATCH]
_OTP: Final = [S.OTP_PENDING, S.OTP_EXPIRED]

#: The citizen's events, each the payload of one trigger.
EVENTS: Final[dict[str, type[Event]]] = {
    "choose_method": ChooseMethod,
    "submit_form": SubmitForm,
    "confirm_otp": ConfirmOtp,
    "resend_otp": ResendOtp,
    "set_password": SetPassword,
}

#: Fired by the engine before every event: a flow past its lifetime ends here.
EXPIRE: Final = "expire"

#: What a reader of the diagrams and docs calls each state, in Vietnamese and English.
STATE_LABELS: Final[dict[State, Message]] = {
    S.CHOOSING_METHOD: Message("Chọn phương thức đăng ký", "Choosing the method"),
    S.FILLING_FORM: Message("Nhập thông tin BHXH", "Filling in the BHXH form"),
    S.DATA_MISMATCH: Message("Không khớp dữ liệu BHXH", "Data does not match BHXH"),
    S.OTP_PENDING: Message("Chờ nhập OTP", "Waiting for the OTP"),
    S.OTP_EXPIRED: Message("OTP hết hạn", "OTP expired"),
    S.SETTING_PASSWORD: Message("Đặt mật khẩu", "Setting the password"),
    S.COMPLETED: Message("Đăng ký thành công", "Registered"),
    S.ACCOUNT_EXISTS: Message("Tài khoản đã tồn tại", "Account already exists"),
    S.LOCKED: Message("Phiên bị khóa", "Flow locked"),
    S.EXPIRED: Message("Phiên hết hạn", "Flow expired"),
}

#: The same for each trigger: the button the citizen presses, or the flow's own timeout.
TRIGGER_LABELS: Final[dict[str, Message]] = {
    "choose_method": Message("Chọn phương thức", "Choose method"),
    "submit_form": Message("Đăng ký (gửi thông tin)", "Register (submit the form)"),
    "confirm_otp": Message("Xác nhận OTP", "Confirm OTP"),
    "resend_otp": Message("Gửi lại OTP", "Resend OTP"),
    "set_password": Message("Đăng ký (đặt mật khẩu)", "Register (set the password)"),
    EXPIRE: Message("Hết thời gian", "Time runs out"),
}

TRANSITIONS: Final[list[dict[str, Any]]] = [
    {"trigger": EXPIRE, "source": ACTIVE, "dest": S.EXPIRED, "conditions": [flow_expired]},
    # Step 2: "Chọn phương thức đăng ký" - Công dân + Bảo hiểm xã hội.
    {"trigger": "choose_method", "source": INITIAL, "dest": None,
     "conditions": [method_unsupported]},
    {"trigger": "choose_method", "source": INITIAL, "dest": S.FILLING_FORM,
     "after": [record_method]},
    # Step 3: the BHXH form, checked against the BHXH database.
    {"trigger": "submit_form", "source": _FORM, "dest": None, "conditions": [form_invalid]},
    # Limits across flows: per client (forms, failed matches), before BHXH is asked.
    {"trigger": "submit_form", "source": _FORM, "dest": None,
     "conditions": [client_rate_limited]},
    {"trigger": "submit_form", "source": _FORM, "dest": None,
     "conditions": [client_mismatch_rate_limited]},
    # A BHXH number that used up its forms or failed matches in any flow is probed: every
    # valid form for it then gets the same answer, a real code on a match and a decoy (no
    # text, a code nothing matches) otherwise. The form no longer tells a match from a
    # mismatch, nor that an account exists, and strangers cannot keep the citizen out.
    {"trigger": "submit_form", "source": _FORM, "dest": S.OTP_PENDING,
     "conditions": [bhxh_number_probed], "after": [answer_probed]},
    {"trigger": "submit_form", "source": _FORM, "dest": S.LOCKED,
     "conditions": [mismatch_limit_reached], "after": [count_mismatch]},
    {"trigger": "submit_form", "source": _FORM, "dest": S.DATA_MISMATCH,
     "conditions": [data_mismatch], "after": [count_mismatch]},
    {"trigger": "submit_form", "source": _FORM, "dest": S.ACCOUNT_EXISTS,
     "conditions": [account_exists]},
    {"trigger": "submit_form", "source": _FORM, "dest": None,
     "conditions": [otp_send_rate_limited]},
    {"trigger": "submit_form", "source": _FORM, "dest": S.OTP_PENDING,
     "after": [remember_citizen, send_otp]},
    # Step 4: the OTP sent to the phone on the BHXH record.
    {"trigger": "confirm_otp", "source": S.OTP_PENDING, "dest": None,
     "conditions": [otp_not_sent]},
    {"trigger": "confirm_otp", "source": S.OTP_PENDING, "dest": S.OTP_EXPIRED,
     "conditions": [otp_expired]},
    # Wrong codes are capped per citizen too, across flows (a decoy counts against nobody).
    {"trigger": "confirm_otp", "source": S.OTP_PENDING, "dest": None,
     "conditions": [otp_guess_rate_limited]},
    {"trigger": "confirm_otp", "source": S.OTP_PENDING, "dest": S.LOCKED,
     "conditions": [too_many_attempts], "after": [count_wrong_otp, spend_otp]},
    {"trigger": "confirm_otp", "source": S.OTP_PENDING, "dest": None,
     "conditions": [otp_wrong], "after": [count_wrong_otp]},
    # A probed form did not tell whether an account exists (that would reveal a match).
    {"trigger": "confirm_otp", "source": S.OTP_PENDING, "dest": S.ACCOUNT_EXISTS,
     "conditions": [account_exists], "after": [spend_otp]},
    {"trigger": "confirm_otp", "source": S.OTP_PENDING, "dest": S.SETTING_PASSWORD,
     "after": [spend_otp]},
    {"trigger": "confirm_otp", "source": S.OTP_EXPIRED, "dest": None,
     "conditions": [otp_expired]},
    {"trigger": "resend_otp", "source": _OTP, "dest": None, "conditions": [send_limit_reached]},
    {"trigger": "resend_otp", "source": _OTP, "dest": None, "conditions": [resend_too_soon]},
    {"trigger": "resend_otp", "source": _OTP, "dest": None,
     "conditions": [otp_send_rate_limited]},
    {"trigger": "resend_otp", "source": _OTP, "dest": S.OTP_PENDING, "after": [send_otp]},
    # Step 5: the password; the account is created with verification level 2.
    {"trigger": "set_password", "source": S.SETTING_PASSWORD, "dest": None,
     "conditions": [password_invalid]},
    {"trigger": "set_password", "source": S.SETTING_PASSWORD, "dest": S.ACCOUNT_EXISTS,
     "conditions": [account_exists]},
    {"trigger": "set_password", "source": S.SETTING_PASSWORD, "dest": S.COMPLETED,
     "before": [create_account]},
]  # fmt: skip


def build_machine(transitions: list[dict[str, Any]], name: str = "regflow") -> Machine:
    """A `transitions` machine over regflow's states: the shipped one, or a host app's
    extension of `TRANSITIONS` (more rules), which `Engine(machine=…)` then runs."""
    return Machine(
        model=None,
        states=[{"name": state, "final": state in TERMINAL} for state in S],
        transitions=transitions,
        initial=INITIAL,
        auto_transitions=False,
        send_event=False,
        name=name,
    )


#: The declaration as a `transitions` machine: validated once at import, shared by the
#: process (never one per flow), and the input of every diagram.
MACHINE: Final = build_machine(TRANSITIONS)
