"""The BHXH registration's own rules and actions: the form, the BHXH lookup and compare,
the probed number, the existing account, the level-2 account. Its declaration, which wires
them to the seed's steps, is `regflow.machine`; the OTP and password steps are kits.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Final

import attrs

from regflow._bridge import settle
from regflow._domain import Account, BhxhRecord, ChooseMethod, RegistrationForm, SubmitForm
from regflow._errors import flow_error
from regflow._masking import mask_id
from regflow._passwords import PersonalData
from regflow.declare._rules import client_limit, host_veto, rule
from regflow.declare._step import PortFailureError, Step, call_port, fact
from regflow.kits.otp import OtpContext, OtpKit
from regflow.kits.password import PasswordKit, password_hash
from regflow.vn._records import RecordValueError, normalise_record
from regflow.vn._validation import normalise_name, parse_form, today_in_vietnam

if TYPE_CHECKING:
    from collections.abc import Sequence

    from regflow._errors import FlowError
    from regflow.declare import FlowSnapshot
    from regflow.ports import BhxhRegistry


def _masked(number: object) -> str:
    return repr(mask_id(number)) if isinstance(number, str) else "<hidden>"


@attrs.frozen(kw_only=True)
class RegistrationContext(OtpContext):
    """What a registration remembers: the method chosen, the BHXH record matched (the
    `citizen`), the email typed, the failed matches, and the account it made: its id and
    when, the rest being the citizen's (`account_of`), so a completed flow is stored short."""

    subject: str | None = None
    method: str | None = None
    citizen: BhxhRecord | None = None
    email: str | None = None
    mismatches: int = 0
    account_id: str | None = None
    #: None when the account was made by the step that completed the flow (its last save).
    account_created_at: datetime | None = None


def account_of(snapshot: FlowSnapshot) -> Account | None:
    """The level-2 account a completed registration made, as `create_account` made it."""
    context: RegistrationContext = snapshot.context
    made = context.account_created_at or snapshot.updated_at
    if context.account_id is None or context.citizen is None or made is None:
        return None
    return Account.for_citizen(
        context.citizen,
        account_id=context.account_id,
        email=context.email,
        created_at=made,
        flow_id=snapshot.flow_id,
    )


class RecordInvalidError(PortFailureError):
    """BHXH answered with a record that breaks the port's contract: an error in BHXH's data,
    reported as such (never the citizen's mismatch); the log names the field, not the value."""

    event = "bhxh.record_invalid"

    def __init__(self, error: RecordValueError) -> None:
        super().__init__("bhxh")
        self.field = error.field
        self.reason = error.reason

    @property
    def code(self) -> str:
        return "bhxh.record_invalid"

    def log_fields(self) -> dict[str, str]:
        return {"port": self.port, "field": self.field, "reason": self.reason}


# --- facts ----------------------------------------------------------------------------------


@fact
def form(step: Step) -> RegistrationForm | tuple[FlowError, ...]:
    return parse_form(step.payload(SubmitForm), today_in_vietnam(step.now))


def valid_form(step: Step) -> RegistrationForm:
    """The parsed form, for rules and actions that run only after `form_invalid` failed."""
    parsed = form(step)
    assert isinstance(parsed, RegistrationForm)  # noqa: S101 - form_invalid is checked first
    return parsed


def _read_record(registry: BhxhRegistry, number: str) -> BhxhRecord | None:
    """The registry's record for `number`, normalised. A registry may raise `RecordValueError`
    itself, for a value it cannot put in a `BhxhRecord` at all (a date of birth that is only
    a year): either way that is BHXH's data error, not an outage."""
    try:
        record = settle(registry.lookup(number))  # awaited under AsyncEngine
        return None if record is None else normalise_record(record, number)
    except RecordValueError as error:
        raise RecordInvalidError(error) from None


@fact
def bhxh_record(step: Step) -> BhxhRecord | None:
    """The record BHXH holds for the form's number, normalised (`normalise_record`)."""
    return call_port("bhxh", _read_record, step.bhxh, valid_form(step).bhxh_number)


@fact
def citizen(step: Step) -> BhxhRecord:
    """The BHXH record of this flow: just looked up, or remembered from the match."""
    record = step.context.citizen or bhxh_record(step)
    assert record is not None  # noqa: S101 - only asked for after a match
    return record


@fact
def number_probed(step: Step) -> bool:
    """The number used up its forms or its failed matches, whatever the flow or client.

    A mismatch is counted here, before it is answered, so racing requests cannot get more
    answers that tell a mismatch than the allowance; a match only peeks.
    """
    limits, number = step.services.policy.rate_limits, valid_form(step).bhxh_number
    mismatch = data_mismatch(step)
    return step.over_limit(
        "bhxh_attempt", number, limits.attempts_per_bhxh_number
    ) or step.over_limit("bhxh_mismatch", number, limits.mismatches_per_bhxh_number, count=mismatch)


@fact
def existing_account(step: Step) -> Account | None:
    record = citizen(step)
    return call_port(
        "storage", step.users.find, record.id_number, record.bhxh_number, record.former_id_numbers
    )


#: The OTP challenge of the registration: codes go to the phone on the BHXH record, wrong
#: codes count against the record's BHXH number across flows.
otp = OtpKit(
    phone=lambda step: citizen(step).phone,
    holder=lambda step: citizen(step).bhxh_number,
)

#: The password rule of the registration: a standards profile refuses the BHXH record's data.
passwords = PasswordKit(
    personal=lambda step: PersonalData.of(citizen(step), citizen(step).bhxh_number)
)

# --- rules ----------------------------------------------------------------------------------


@rule(
    "method.unsupported",
    vi="Loại đối tượng và phương thức đã chọn chưa được hỗ trợ.",
    en="The chosen registrant type and method are not offered.",
    field="method",
)
def method_unsupported(step: Step) -> bool:
    event = step.payload(ChooseMethod)
    return step.services.methods.find(event.subject, event.method) is None


def _form_errors(step: Step) -> Sequence[FlowError]:
    parsed = form(step)
    return parsed if isinstance(parsed, tuple) else ()


@rule(
    "bhxh_number.required",
    "bhxh_number.invalid",
    "full_name.required",
    "full_name.invalid",
    "date_of_birth.required",
    "date_of_birth.invalid",
    "date_of_birth.out_of_range",
    "phone.required",
    "phone.invalid",
    "email.invalid",
    vi="Có trường bắt buộc bị bỏ trống hoặc không hợp lệ.",
    en="A required field is empty or a field is not valid.",
    report=_form_errors,
)
def form_invalid(step: Step) -> bool:
    return isinstance(form(step), tuple)


def _form_or_id_number_errors(step: Step) -> Sequence[FlowError]:
    parsed = form(step)
    if isinstance(parsed, tuple):
        return parsed if _typed_id_number(step) else (*parsed, _ID_NUMBER_REQUIRED)
    return () if parsed.id_number else (_ID_NUMBER_REQUIRED,)


def _typed_id_number(step: Step) -> bool:
    typed = step.payload(SubmitForm).id_number
    return isinstance(typed, str) and bool(typed.strip())


_ID_NUMBER_REQUIRED: Final = flow_error("id_number.required", field="id_number")


@rule(
    *form_invalid.codes,
    "id_number.required",
    "id_number.invalid",
    vi="Có trường bắt buộc (kể cả số CMND/CCCD) bị bỏ trống hoặc không hợp lệ.",
    en="A required field (the CMND/CCCD number too) is empty or a field is not valid.",
    report=_form_or_id_number_errors,
)
def id_form_invalid(step: Step) -> bool:
    """Version 2's form: the BHXH form, and the CMND/CCCD number it asks for too."""
    return bool(_form_or_id_number_errors(step))


@rule(
    "bhxh.data_mismatch",
    vi="Thông tin nhập không khớp với hồ sơ BHXH (hoặc không có mã số BHXH này).",
    en="The details typed differ from the BHXH record (or BHXH has no such number).",
)
def data_mismatch(step: Step) -> bool:
    return record_differs(step)


@fact
def record_differs(step: Step) -> bool:
    """Whether the form differs from the BHXH record: a fact, as the mismatch limit, the
    mismatch itself and the match edge (``unless=``) each ask it in one request."""
    typed, record = valid_form(step), bhxh_record(step)
    return (
        record is None
        or normalise_name(typed.full_name) != normalise_name(record.full_name)
        or typed.date_of_birth != record.date_of_birth
        or typed.phone != record.phone
        or (typed.id_number is not None and typed.id_number != record.id_number)
    )


@rule(
    "bhxh.mismatch_limit",
    vi="Thông tin không khớp lần thứ N (mặc định 5): khóa phiên để chống dò dữ liệu BHXH.",
    en="The Nth mismatch (5 by default) locks the flow, so BHXH cannot be probed.",
)
def mismatch_limit_reached(step: Step) -> bool:
    limit = step.services.policy.max_mismatches
    return step.context.mismatches + 1 >= limit and data_mismatch(step)


@rule(
    "account.exists",
    vi="Đã có tài khoản với một số CMT/CCCD (hiện tại hoặc cũ) hay mã số BHXH của hồ sơ BHXH.",
    en="An account exists for a CMT/CCCD number (current or former) or the BHXH number on record.",
)
def account_exists(step: Step) -> bool:
    account = existing_account(step)
    return account is not None and account.flow_id != step.snapshot.flow_id


@rule(
    "account.exists",
    vi="Đã có tài khoản, và cổng báo ngay khi hồ sơ BHXH khớp (mặc định); với"
    " Policy.account_exists_after_otp, chỉ báo sau khi OTP chứng minh số điện thoại của hồ sơ.",
    en="An account exists, told as soon as the BHXH record matches (the default); with"
    " Policy.account_exists_after_otp, told only once the OTP proves the record's phone.",
)
def account_exists_at_match(step: Step) -> bool:
    """The seed's answer right after the match, unless the host chose not to tell anyone
    who has not proved the record's phone: then the form answers alike (a code to the
    phone) whether an account exists, and the right code tells it (`account_exists`)."""
    return not step.services.policy.account_exists_after_otp and account_exists(step)


#: The host's say before the account is made (``Engine(vetoes={"account_creation_veto": …})``):
#: the veto is asked about the BHXH record's CMT/CCCD number; with none given it never refuses.
account_creation_veto = host_veto(
    "account_creation_veto",
    "account.creation_vetoed",
    vi="Ứng dụng chủ (host) từ chối tạo tài khoản cho hồ sơ này (hook của host; mặc định không"
    " từ chối).",
    en="The host app refuses an account for this record (a host hook; by default it never"
    " refuses).",
    subject=lambda step: citizen(step).id_number,
)


client_rate_limited = client_limit(
    "client_rate_limited",
    "client.rate_limited",
    "client",
    lambda limits: limits.attempts_per_client,
    vi="Thiết bị/địa chỉ (khóa client do ứng dụng cấp) đã gửi quá nhiều biểu mẫu.",
    en="The client key the host passes (IP, device) sent too many forms.",
)
#: Only peeks: a failed match is counted against the client when it is answered.
client_mismatch_rate_limited = client_limit(
    "client_mismatch_rate_limited",
    "client.mismatch_rate_limited",
    "client_mismatch",
    lambda limits: limits.mismatches_per_client,
    vi="Thiết bị/địa chỉ này đã gửi quá nhiều biểu mẫu không khớp hồ sơ BHXH (mọi phiên).",
    en="The client key sent too many forms that did not match BHXH, across flows.",
    count=False,
)


@rule(
    "bhxh.number_probed",
    vi="Mã số BHXH đã hết lượt đối chiếu (mọi phiên): biểu mẫu không còn cho biết khớp hay "
    "không; nếu khớp, OTP gửi tới số điện thoại trong hồ sơ.",
    en="The BHXH number used up its checks, across flows: the form no longer tells a match "
    "from a mismatch; on a match the OTP goes to the phone on the record.",
)
def bhxh_number_probed(step: Step) -> bool:
    return number_probed(step)


# --- actions --------------------------------------------------------------------------------


def record_method(step: Step) -> None:
    event = step.payload(ChooseMethod)
    step.changes.update(subject=event.subject, method=event.method)


def count_mismatch(step: Step) -> None:
    """Count a mismatch in the flow and against the client (the number's own count was
    taken by `bhxh_number_probed`, before the answer)."""
    step.changes["mismatches"] = step.context.mismatches + 1
    _count_client_mismatch(step)


def _count_client_mismatch(step: Step) -> None:
    limits = step.services.policy.rate_limits.mismatches_per_client
    step.over_limit("client_mismatch", step.client, limits)


def answer_probed(step: Step) -> None:
    """Answer a form for a probed number alike, matched or not.

    A match gets a real code on the record's phone; a mismatch (or a match whose phone has
    no texts left) a decoy. Either counts once against the client's mismatches, so the
    client's limit cannot tell them apart either.
    """
    _count_client_mismatch(step)
    step.changes["probed"] = True
    phone = valid_form(step).phone  # on a match, the record's phone
    if data_mismatch(step) or otp.phone_used_up(step, phone):
        otp.send_decoy(step, phone)
    else:
        remember_citizen(step)
        otp.send_otp(step)


def remember_citizen(step: Step) -> None:
    step.changes.update(citizen=citizen(step), email=valid_form(step).email)


def create_account(step: Step) -> None:
    """Hash the password and add the level-2 account; a lost race raises DuplicateAccountError.

    An account this flow already created (its completing save was lost: a crash, a timeout)
    gets this request's password hash instead: the password that works is the one of the
    request that reports the flow completed, not of an attempt the citizen never saw finish.
    """
    hashed = password_hash(step)
    users, account = step.users, existing_account(step)
    if account is None:
        account = Account.for_citizen(
            citizen(step),
            account_id=secrets.token_hex(16),
            email=step.context.email,
            created_at=step.now,
            flow_id=step.snapshot.flow_id,
        )
        call_port("storage", users.add, account, hashed)
    else:
        call_port("storage", users.replace_password_hash, account, hashed)
    step.announce_account(account.account_id, mask_id(account.id_number))
    made_now = account.created_at == step.now  # the completing save's own time: unsaid
    step.changes.update(
        account_id=account.account_id, account_created_at=None if made_now else account.created_at
    )
