"""The BHXH registration, declared once: `BHXH_REGISTRATION` (version 3, with the host's
say before the account is made), `BHXH_REGISTRATION_V2` (whose form asks for the CMND/CCCD
number too) and `BHXH_REGISTRATION_V1`, which flows begun before them finish on
(docs/versioning.md).

Read it top to bottom as the seed's steps; within one trigger and source, transitions are
tried in the order written and the first whose guards all pass is taken (a transition
without guards is the "otherwise" case and comes last). A transition whose ``dest`` is
``None`` rejects the event and stays in its state; its guard's error codes tell the citizen
why. The rules it names live in `regflow.flows.registration`, the OTP and password steps in
the kits (`regflow.kits`); the engine, the diagrams, the checks and the docs all read this.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Final

import attrs

from regflow._domain import REMEDIES, ChooseMethod, Remedy, SubmitForm
from regflow._errors import Message
from regflow._masking import mask_phone
from regflow._methods import RegistrationMethod
from regflow.declare import (
    EXPIRE,
    FLOW_EXPIRED,
    FLOW_LOCKED,
    FlowSpec,
    Migration,
    Rule,
    event,
    flow_expired,
    state,
)
from regflow.flows.registration import (
    RegistrationContext,
    account_creation_veto,
    account_exists,
    account_exists_at_match,
    account_of,
    answer_probed,
    bhxh_number_probed,
    client_mismatch_rate_limited,
    client_rate_limited,
    count_mismatch,
    create_account,
    data_mismatch,
    form_invalid,
    id_form_invalid,
    method_unsupported,
    mismatch_limit_reached,
    otp,
    passwords,
    record_method,
    remember_citizen,
)
from regflow.kits.otp import OTP_EVENTS, OTP_EXPIRED_STATE, OTP_PENDING_STATE, otp_view
from regflow.kits.password import SetPassword

if TYPE_CHECKING:
    from collections.abc import Mapping

    from regflow.declare import FlowSnapshot, Services


class State(enum.StrEnum):
    """The steps of the registration; `TRANSITIONS` links them."""

    CHOOSING_METHOD = "choosing_method"
    FILLING_FORM = "filling_form"
    DATA_MISMATCH = "data_mismatch"
    OTP_PENDING = "otp_pending"
    OTP_EXPIRED = "otp_expired"
    SETTING_PASSWORD = "setting_password"  # noqa: S105 - a state, not a secret
    COMPLETED = "completed"
    ACCOUNT_EXISTS = "account_exists"
    LOCKED = "locked"
    EXPIRED = "expired"


S = State
INITIAL: Final = S.CHOOSING_METHOD

#: What a reader of the diagrams and docs calls each state, in Vietnamese and English; the
#: terminal ones with the error an event on a finished flow reports.
STATES: Final = {
    S.CHOOSING_METHOD: state("Chọn phương thức đăng ký", "Choosing the method"),
    S.FILLING_FORM: state("Nhập thông tin BHXH", "Filling in the BHXH form"),
    S.DATA_MISMATCH: state("Không khớp dữ liệu BHXH", "Data does not match BHXH"),
    S.OTP_PENDING: OTP_PENDING_STATE,
    S.OTP_EXPIRED: OTP_EXPIRED_STATE,
    S.SETTING_PASSWORD: state("Đặt mật khẩu", "Setting the password"),
    S.COMPLETED: state("Đăng ký thành công", "Registered", terminal="flow.finished"),
    S.ACCOUNT_EXISTS: state(
        "Tài khoản đã tồn tại", "Account already exists", terminal="flow.finished"
    ),
    S.LOCKED: FLOW_LOCKED,
    S.EXPIRED: FLOW_EXPIRED,
}

#: The citizen's events, each the payload of one trigger and the button it comes from.
EVENTS: Final = {
    "choose_method": event(ChooseMethod, "Chọn phương thức", "Choose method"),
    "submit_form": event(SubmitForm, "Đăng ký (gửi thông tin)", "Register (submit the form)"),
    **OTP_EVENTS,
    "set_password": event(SetPassword, "Đăng ký (đặt mật khẩu)", "Register (set the password)"),
}

ACTIVE: Final = [s for s, info in STATES.items() if not info.terminal]
_FORM: Final = [S.FILLING_FORM, S.DATA_MISMATCH]


def transitions(
    form_check: Rule, exists_at_match: Rule = account_exists, *, host_hooks: bool = False
) -> list[dict[str, Any]]:
    """The registration's transitions, the form checked by `form_check`: version 1's
    `form_invalid`, or version 2's `id_form_invalid`, which asks for the CMND/CCCD number;
    an existing account told right after the match by `exists_at_match`: version 1's
    `account_exists`, or version 2's `account_exists_at_match`, which the host's policy may
    hold back until the OTP (`Policy.account_exists_after_otp`). With `host_hooks`
    (version 3) the host's veto may refuse the account before it is made."""
    veto = {"trigger": "set_password", "source": S.SETTING_PASSWORD, "dest": None,
            "conditions": [account_creation_veto]}  # fmt: skip
    return [
    {"trigger": EXPIRE, "source": ACTIVE, "dest": S.EXPIRED, "conditions": [flow_expired]},
    # Step 2: "Chọn phương thức đăng ký" - Công dân + Bảo hiểm xã hội.
    {"trigger": "choose_method", "source": INITIAL, "dest": None,
     "conditions": [method_unsupported]},
    {"trigger": "choose_method", "source": INITIAL, "dest": S.FILLING_FORM,
     "after": [record_method]},
    # Step 3: the BHXH form, checked against the BHXH database.
    {"trigger": "submit_form", "source": _FORM, "dest": None, "conditions": [form_check]},
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
     "conditions": [exists_at_match]},
    {"trigger": "submit_form", "source": _FORM, "dest": None,
     "conditions": [otp.send_rate_limited]},
    {"trigger": "submit_form", "source": _FORM, "dest": S.OTP_PENDING,
     "after": [remember_citizen, otp.send_otp]},
    # Step 4: the OTP sent to the phone on the BHXH record (the kit's edges). A probed form
    # did not tell whether an account exists (that would reveal a match), nor did a form
    # under `Policy.account_exists_after_otp`: the code does.
    *otp.confirm(pending=S.OTP_PENDING, expired=S.OTP_EXPIRED, locked=S.LOCKED, confirmed=[
        {"dest": S.ACCOUNT_EXISTS, "conditions": [account_exists]},
        {"dest": S.SETTING_PASSWORD},
    ]),
    *otp.resend(pending=S.OTP_PENDING, expired=S.OTP_EXPIRED),
    # Step 5: the password; the account is created with verification level 2.
    {"trigger": "set_password", "source": S.SETTING_PASSWORD, "dest": None,
     "conditions": [passwords.invalid]},
    {"trigger": "set_password", "source": S.SETTING_PASSWORD, "dest": S.ACCOUNT_EXISTS,
     "conditions": [account_exists]},
    # A host hook: the host's veto, if it gave one, may refuse the account (docs/hooks.md).
    *([veto] if host_hooks else []),
    {"trigger": "set_password", "source": S.SETTING_PASSWORD, "dest": S.COMPLETED,
     "before": [create_account]},
    ]  # fmt: skip


#: The current version's transitions: the form asks for the CMND/CCCD number (since
#: version 2), and the host may veto the account (since version 3).
TRANSITIONS: Final = transitions(id_form_invalid, account_exists_at_match, host_hooks=True)


@attrs.frozen(kw_only=True)
class RegistrationDetails:
    """What the registration's screens show beyond the generic `FlowView`: the methods on
    the first screen, the matches left on the form, the remedies for an existing account."""

    methods: tuple[RegistrationMethod, ...] = ()
    mismatches_left: int | None = None
    remedies: tuple[Remedy, ...] = ()


def _phone_hint(context: RegistrationContext) -> str | None:
    """The masked phone the codes go to: the record's, or the one a decoy's form typed
    (which equals the record's whenever the form matched)."""
    phone = context.citizen.phone if context.citizen else context.decoy_phone
    return mask_phone(phone) if phone else None


_NO_DETAILS: Final = RegistrationDetails()


def registration_view(snapshot: FlowSnapshot, services: Services) -> Mapping[str, Any]:
    """The `FlowView` fields of each screen of the registration."""
    current, context = snapshot.state, snapshot.context
    if current is S.OTP_PENDING or current is S.OTP_EXPIRED:
        fields = otp_view(context, services.policy, _phone_hint(context))
        fields["details"] = _NO_DETAILS
        return fields
    if current is INITIAL:
        return {"details": RegistrationDetails(methods=services.methods.methods)}
    if current is S.FILLING_FORM or current is S.DATA_MISMATCH:
        left = services.policy.max_mismatches - context.mismatches
        return {"details": RegistrationDetails(mismatches_left=left)}
    if current is S.ACCOUNT_EXISTS:
        return {"details": RegistrationDetails(remedies=REMEDIES)}
    if current is S.COMPLETED:
        return {"account": account_of(snapshot), "details": _NO_DETAILS}
    return {"details": _NO_DETAILS}


def _citizen_id(context: RegistrationContext) -> str | None:
    return context.citizen.id_number if context.citizen else None


#: Version 1: the form without the CMND/CCCD number. Its flows past the form finish on it.
BHXH_REGISTRATION_V1: Final = FlowSpec(
    name="bhxh_registration",
    title=Message("Đăng ký tài khoản bằng mã số BHXH", "Registration by BHXH number"),
    states=STATES,
    initial=INITIAL,
    events=EVENTS,
    transitions=transitions(form_invalid),
    context=RegistrationContext,
    lifetime=lambda policy: policy.flow_ttl,
    view=registration_view,
    subject=_citizen_id,
    requires={"bhxh", "sms", "users", "hasher"},
)

#: Version 2: the form asks for the CMND/CCCD number (the login name), checked against the
#: BHXH record. Flows of version 1 still at the form move onto it; the rest stay on v1.
BHXH_REGISTRATION_V2: Final = attrs.evolve(
    BHXH_REGISTRATION_V1,
    version=2,
    events={
        **EVENTS,
        "submit_form": attrs.evolve(EVENTS["submit_form"], required={"id_number"}),
    },
    transitions=transitions(id_form_invalid, account_exists_at_match),
    migrations=[
        Migration(
            from_version=1,
            states={s: s for s in (INITIAL, *_FORM)},
        )
    ],
)

#: Version 3: the host's veto (`account_creation_veto`, a host hook) may refuse the account
#: before it is made. The context is version 2's, so every flow of version 2 moves onto it,
#: in the state it is in; flows of version 1 at the form move on through version 2.
BHXH_REGISTRATION: Final = attrs.evolve(
    BHXH_REGISTRATION_V2,
    version=3,
    transitions=TRANSITIONS,
    migrations=[Migration(from_version=2, states={s: s for s in ACTIVE})],
)

#: The declaration as a `transitions` machine: validated once at import, shared by the
#: process (never one per flow), and the input of every diagram.
MACHINE: Final = BHXH_REGISTRATION.machine
#: Terminal states, each with the error an event on a finished flow reports.
TERMINAL: Final = BHXH_REGISTRATION.terminal
