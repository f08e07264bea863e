"""The business rules (guards) and actions of the flow, and the step they work on.

A rule is a named predicate over a `Step`; its name is what the diagram shows on the edge,
its codes are what the citizen is told when it decides the outcome. Facts that cost a port
call (the BHXH record, an existing account) are fetched once per step, on first use, so a
rule that is never reached never calls BHXH.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

import attrs

from regflow import _otp
from regflow._domain import (
    Account,
    BhxhRecord,
    ChooseMethod,
    ConfirmOtp,
    OtpChallenge,
    RegistrationForm,
    SetPassword,
    SubmitForm,
)
from regflow._errors import (
    DuplicateAccountError,
    FlowError,
    Message,
    flow_error,
)
from regflow._methods import MethodRegistry
from regflow._policy import Policy
from regflow._records import RecordValueError, normalise_record
from regflow._sms import SmsMessage
from regflow._validation import (
    normalise_name,
    normalise_password,
    parse_form,
    password_errors,
    today_in_vietnam,
)
from regflow.ports import (
    BhxhRegistry,
    Clock,
    PasswordHasher,
    RateLimiter,
    SmsGateway,
    UserStore,
)

if TYPE_CHECKING:
    from datetime import datetime

    from regflow._domain import Event, FlowSnapshot
    from regflow._limits import RateLimit

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class PortFailureError(Exception):
    """A port call failed; `port` names which, so the right retryable code is reported."""

    def __init__(self, port: str) -> None:
        super().__init__(port)
        self.port = port

    #: The log event operators see; its fields are `log_fields`.
    event = "flow.port_failed"

    @property
    def code(self) -> str:
        return f"{self.port}.unavailable"

    def log_fields(self) -> dict[str, str]:
        return {"port": self.port}


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


@attrs.frozen(kw_only=True)
class Services:
    """The ports and settings one engine works with."""

    bhxh: BhxhRegistry
    sms: SmsGateway
    users: UserStore
    hasher: PasswordHasher
    clock: Clock
    policy: Policy
    otp_secret: bytes
    methods: MethodRegistry
    limiter: RateLimiter | None = None


def _call(port: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call a port; any failure but a lost account race or a record BHXH holds wrongly
    becomes a `PortFailureError`."""
    try:
        return fn(*args, **kwargs)
    except (DuplicateAccountError, RecordInvalidError):
        raise
    except Exception as exc:
        raise PortFailureError(port) from exc


def _read_record(registry: BhxhRegistry, number: str) -> BhxhRecord | None:
    """The registry's record for `number`, normalised. A registry may raise `RecordValueError`
    itself, for a value it cannot put in a `BhxhRecord` at all (a date of birth that is only
    a year): either way that is BHXH's data error, not an outage."""
    try:
        record = registry.lookup(number)
        return None if record is None else normalise_record(record, number)
    except RecordValueError as error:
        raise RecordInvalidError(error) from None


def resend_available_at(snapshot: FlowSnapshot, policy: Policy) -> datetime | None:
    """When "Gửi lại OTP" works again; None: now, since no valid code awaits the citizen."""
    last = snapshot.otp_last_sent_at
    if snapshot.otp is None or last is None:
        return None
    return last + policy.otp_resend_after


class _once(Generic[T]):  # noqa: N801 - used as a decorator, like functools.cached_property
    """`functools.cached_property` without the lock Python 3.11 takes on every first read:
    a step lives in one request, on one thread, and its facts are read on every request."""

    def __init__(self, compute: Callable[[Step], T]) -> None:
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__  # help(Step) shows the fact's own docstring

    @overload
    def __get__(self, step: None, owner: type[Step]) -> _once[T]: ...
    @overload
    def __get__(self, step: Step, owner: type[Step]) -> T: ...
    def __get__(self, step: Step | None, owner: type[Step]) -> T | _once[T]:
        if step is None:
            return self
        value = self._compute(step)
        step.__dict__[self._name] = value  # read from the instance from now on
        return value


class Step:
    """One event applied to one snapshot: the facts rules read, the changes actions make."""

    def __init__(  # noqa: PLR0913 - the step's inputs; the per-request ones keyword-only
        self,
        services: Services,
        snapshot: FlowSnapshot,
        event: Event | None,
        now: datetime,
        *,
        client: str | None = None,
        retry_at: dict[str, datetime | None] | None = None,
    ) -> None:
        self.services = services
        self.snapshot = snapshot
        self.event = event
        self.now = now
        self.client = client
        self.changes: dict[str, Any] = {}
        self.errors: list[FlowError] = []
        #: The limiter's answers to counted hits, by counter; shared by every attempt of one
        #: request, so a request that loses a race and is re-applied still counts once.
        self.retry_at: dict[str, datetime | None] = {} if retry_at is None else retry_at
        self._peeked: dict[str, datetime | None] = {}
        #: A text to send once the step is saved, and the changes that undo it if it fails.
        self.outbox: OutgoingSms | None = None

    def payload(self, kind: type[T]) -> T:
        """The event, which the engine has already matched to this trigger's type."""
        assert isinstance(self.event, kind)  # noqa: S101 - the engine's dispatch guarantees it
        return self.event

    @_once
    def form(self) -> RegistrationForm | tuple[FlowError, ...]:
        return parse_form(self.payload(SubmitForm), today_in_vietnam(self.now))

    @property
    def valid_form(self) -> RegistrationForm:
        """The parsed form, for rules and actions that run only after `form_invalid` failed."""
        form = self.form
        assert isinstance(form, RegistrationForm)  # noqa: S101 - form_invalid is checked first
        return form

    @_once
    def bhxh_record(self) -> BhxhRecord | None:
        """The record BHXH holds for the form's number, normalised (`normalise_record`)."""
        number = self.valid_form.bhxh_number
        return _call("bhxh", _read_record, self.services.bhxh, number)

    @_once
    def citizen(self) -> BhxhRecord:
        """The BHXH record of this flow: just looked up, or remembered from the match."""
        record = self.snapshot.citizen or self.bhxh_record
        assert record is not None  # noqa: S101 - only asked for after a match
        return record

    @_once
    def number_probed(self) -> bool:
        """The number used up its forms or its failed matches, whatever the flow or client.

        A mismatch is counted here, before it is answered, so racing requests cannot get
        more answers that tell a mismatch than the allowance; a match only peeks.
        """
        limits, number = self.services.policy.rate_limits, self.valid_form.bhxh_number
        mismatch = data_mismatch(self)
        return self.over_limit(
            "bhxh_attempt", number, limits.attempts_per_bhxh_number
        ) or self.over_limit(
            "bhxh_mismatch", number, limits.mismatches_per_bhxh_number, count=mismatch
        )

    @_once
    def existing_account(self) -> Account | None:
        citizen = self.citizen
        return _call(
            "storage",
            self.services.users.find,
            citizen.id_number,
            citizen.bhxh_number,
            citizen.former_id_numbers,
        )

    @_once
    def code_matches(self) -> bool:
        """Whether the code typed is the one sent (never, in a decoy: its hash is random)."""
        otp = self.snapshot.otp
        assert otp is not None  # noqa: S101 - otp_not_sent is checked first
        typed = self.payload(ConfirmOtp).code
        return _otp.code_matches(
            self.services.otp_secret, self.snapshot.flow_id, typed, otp.code_hash
        )

    @_once
    def guesses_used_up(self) -> bool:
        """Whether the citizen's wrong codes across flows are used up.

        A wrong code is counted here, at once (a right one only peeks), so flows racing for
        the citizen cannot pass the limit together; a decoy counts against nobody.
        """
        if self.snapshot.decoy_phone is not None:
            return False
        limits = self.services.policy.rate_limits.otp_failures_per_citizen
        wrong = not self.code_matches
        return self.over_limit("otp_failure", self.citizen.bhxh_number, limits, count=wrong)

    @_once
    def otp_correct(self) -> bool:
        """The code is right, and the citizen may still have codes judged (asked first, so
        every judged code is counted)."""
        used_up = self.guesses_used_up
        return self.code_matches and not used_up

    @_once
    def password_errors(self) -> tuple[FlowError, ...]:
        event = self.payload(SetPassword)
        return password_errors(event.password, event.confirmation)

    @_once
    def client_digest(self) -> str | None:
        """The client key as the log shows it: the keyed digest its limiter counter uses,
        so the log holds no address, and no text its renderer could fail to write."""
        client = self.client
        return None if client is None else keyed_digest(self.services.otp_secret, "client", client)

    @property
    def otp_phone(self) -> str:
        """The phone this flow's codes go to: a decoy's typed one, or the BHXH record's."""
        return self.snapshot.decoy_phone or self.citizen.phone

    @property
    def resend_available_at(self) -> datetime | None:
        return resend_available_at(self.snapshot, self.services.policy)

    def over_limit(
        self, counter: str, value: str | None, limits: Sequence[RateLimit], *, count: bool = True
    ) -> bool:
        """Whether `value` has used up its `counter` across flows, counting this request
        when `count`. A count is taken once per request, however often it is re-applied; a
        peek (`count=False`) once per step."""
        limiter = self.services.limiter
        if limiter is None or value is None or not limits:
            return False
        answers = self.retry_at if count else self._peeked
        if counter not in answers:
            check = limiter.hit if count else limiter.peek
            key = limit_key(self.services.otp_secret, counter, value)
            answers[counter] = _call("storage", check, key, limits)
        return answers[counter] is not None

    def retry_time(self, counter: str) -> datetime | None:
        """When `counter` has room again, by the last answer the limiter gave this step."""
        return self.retry_at.get(counter) or self._peeked.get(counter)


def keyed_digest(secret: bytes, counter: str, value: str) -> str:
    """`value` as a keyed digest (HMAC-SHA256, 32 hex digits): what the limiter's store and
    the logs hold instead of a phone, an ID number or a client key.

    Any text has one: a lone surrogate is encoded as it stands (``surrogatepass``, which
    gives every string its own bytes), not refused as strict UTF-8 would.
    """
    text = f"{counter}:{value}".encode("utf-8", "surrogatepass")
    return hmac.digest(secret, text, "sha256")[:16].hex()


def limit_key(secret: bytes, counter: str, value: str) -> str:
    """A counter's key: keyed digest, so no phone or ID number sits in the limiter's store."""
    return f"regflow:{counter}:{keyed_digest(secret, counter, value)}"


# --- rules ----------------------------------------------------------------------------------


@attrs.frozen(repr=False)
class Rule:
    """A named business rule: the guard on a transition and what it reports when it decides."""

    name: str
    check: Callable[[Step], bool]
    codes: tuple[str, ...]
    description: Message
    report: Callable[[Step], Sequence[FlowError]]

    def __repr__(self) -> str:
        return f"<rule {self.name}>"

    @property
    def __name__(self) -> str:  # transitions and the diagrams label conditions by it
        return self.name

    def __call__(self, step: Step) -> bool:
        return self.check(step)


def rule(
    *codes: str,
    vi: str,
    en: str,
    field: str | None = None,
    report: Callable[[Step], Sequence[FlowError]] | None = None,
) -> Callable[[Callable[[Step], bool]], Rule]:
    """Declare a function as a business rule that reports `codes` when it decides a step."""

    def default_report(_: Step) -> Sequence[FlowError]:
        return [flow_error(code, field=field) for code in codes]

    def declare(check: Callable[[Step], bool]) -> Rule:
        return Rule(check.__name__, check, codes, Message(vi, en), report or default_report)

    return declare


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
    form = step.form
    return form if isinstance(form, tuple) else ()


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
    return isinstance(step.form, tuple)


@rule(
    "bhxh.data_mismatch",
    vi="Thông tin nhập không khớp với hồ sơ BHXH (hoặc không có mã số BHXH này).",
    en="The details typed differ from the BHXH record (or BHXH has no such number).",
)
def data_mismatch(step: Step) -> bool:
    form, record = step.valid_form, step.bhxh_record
    return (
        record is None
        or normalise_name(form.full_name) != normalise_name(record.full_name)
        or form.date_of_birth != record.date_of_birth
        or form.phone != record.phone
    )


@rule(
    "bhxh.mismatch_limit",
    vi="Thông tin không khớp lần thứ N (mặc định 5): khóa phiên để chống dò dữ liệu BHXH.",
    en="The Nth mismatch (5 by default) locks the flow, so BHXH cannot be probed.",
)
def mismatch_limit_reached(step: Step) -> bool:
    limit = step.services.policy.max_mismatches
    return step.snapshot.mismatches + 1 >= limit and data_mismatch(step)


@rule(
    "account.exists",
    vi="Đã có tài khoản với một số CMT/CCCD (hiện tại hoặc cũ) hay mã số BHXH của hồ sơ BHXH.",
    en="An account exists for a CMT/CCCD number (current or former) or the BHXH number on record.",
)
def account_exists(step: Step) -> bool:
    account = step.existing_account
    return account is not None and account.flow_id != step.snapshot.flow_id


@rule(
    "otp.not_sent",
    vi="Chưa có mã OTP hợp lệ nào được gửi (tin nhắn gửi lỗi).",
    en="No valid OTP has been sent (the text message failed).",
)
def otp_not_sent(step: Step) -> bool:
    return step.snapshot.otp is None


@rule(
    "otp.expired",
    vi="Mã OTP đã quá thời hạn hiệu lực (mặc định 5 phút).",
    en="The OTP is past its lifetime (5 minutes by default).",
    field="code",
)
def otp_expired(step: Step) -> bool:
    otp = step.snapshot.otp
    return otp is not None and step.now >= otp.expires_at


@rule(
    "otp.too_many_attempts",
    vi="Nhập sai OTP lần thứ N (mặc định 5): khóa phiên.",
    en="The Nth wrong OTP (5 by default) locks the flow.",
)
def too_many_attempts(step: Step) -> bool:
    limit = step.services.policy.otp_max_attempts
    return step.snapshot.otp_failures + 1 >= limit and not step.otp_correct


@rule("otp.invalid", vi="Mã OTP không đúng.", en="The OTP is wrong.", field="code")
def otp_wrong(step: Step) -> bool:
    return not step.otp_correct


@rule(
    "otp.send_limit",
    vi="Đã gửi OTP đủ số lần cho phép trong một phiên (mặc định 5).",
    en="The OTP was sent the most times a flow allows (5 by default).",
)
def send_limit_reached(step: Step) -> bool:
    return step.snapshot.otp_sends >= step.services.policy.otp_max_sends


def _retry_at(step: Step) -> Sequence[FlowError]:
    return [flow_error("otp.resend_too_soon", retry_at=step.resend_available_at)]


@rule(
    "otp.resend_too_soon",
    vi="Chưa hết thời gian chờ gửi lại OTP (mặc định 60 giây).",
    en="The wait before a resend (60 seconds by default) is not over.",
    report=_retry_at,
)
def resend_too_soon(step: Step) -> bool:
    available = step.resend_available_at
    return available is not None and step.now < available


def _until(code: str, counter: str) -> Callable[[Step], Sequence[FlowError]]:
    def report(step: Step) -> Sequence[FlowError]:
        return [flow_error(code, retry_at=step.retry_time(counter))]

    return report


@rule(
    "client.rate_limited",
    vi="Thiết bị/địa chỉ (khóa client do ứng dụng cấp) đã gửi quá nhiều biểu mẫu.",
    en="The client key the host passes (IP, device) sent too many forms.",
    report=_until("client.rate_limited", "client"),
)
def client_rate_limited(step: Step) -> bool:
    limits = step.services.policy.rate_limits.attempts_per_client
    return step.over_limit("client", step.client, limits)


@rule(
    "client.mismatch_rate_limited",
    vi="Thiết bị/địa chỉ này đã gửi quá nhiều biểu mẫu không khớp hồ sơ BHXH (mọi phiên).",
    en="The client key sent too many forms that did not match BHXH, across flows.",
    report=_until("client.mismatch_rate_limited", "client_mismatch"),
)
def client_mismatch_rate_limited(step: Step) -> bool:
    limits = step.services.policy.rate_limits.mismatches_per_client
    return step.over_limit("client_mismatch", step.client, limits, count=False)


@rule(
    "bhxh.number_probed",
    vi="Mã số BHXH đã hết lượt đối chiếu (mọi phiên): biểu mẫu không còn cho biết khớp hay "
    "không; nếu khớp, OTP gửi tới số điện thoại trong hồ sơ.",
    en="The BHXH number used up its checks, across flows: the form no longer tells a match "
    "from a mismatch; on a match the OTP goes to the phone on the record.",
)
def bhxh_number_probed(step: Step) -> bool:
    return step.number_probed


@rule(
    "otp.send_rate_limited",
    vi="Số điện thoại này đã nhận quá nhiều OTP (mọi phiên): chống SMS pumping.",
    en="This phone number was sent too many OTPs, across flows: no SMS pumping.",
    report=_until("otp.send_rate_limited", "otp_send"),
)
def otp_send_rate_limited(step: Step) -> bool:
    """Only peeks: the engine counts a text once it is saved to go out (`count_send`), so a
    request that loses a race costs the phone nothing. A probed flow never says so: it sends
    a decoy instead (`send_otp`), as a flow that did not match would."""
    return not step.snapshot.probed and _phone_used_up(step, step.otp_phone)


def _phone_used_up(step: Step, phone: str) -> bool:
    limits = step.services.policy.rate_limits.otp_sends_per_phone
    return step.over_limit("otp_send", phone, limits, count=False)


def count_send(step: Step, sms: OutgoingSms) -> datetime | None:
    """Count a saved text against its phone before it goes out; when the phone has no room
    (another flow sent to it meanwhile), count nothing and say when it has.

    Counted before the provider is called: a text whose call failed may still have been
    delivered, so it counts.
    """
    limits = step.services.policy.rate_limits.otp_sends_per_phone
    if step.over_limit("otp_send", sms.phone, limits):
        return step.retry_at["otp_send"]
    return None


@rule(
    "otp.guess_rate_limited",
    vi="Đã nhập sai OTP quá nhiều lần cho hồ sơ BHXH này (mọi phiên).",
    en="Too many wrong OTPs were entered for this BHXH record, across flows.",
    report=_until("otp.guess_rate_limited", "otp_failure"),
)
def otp_guess_rate_limited(step: Step) -> bool:
    """No code is judged while the citizen's wrong codes are used up. A probed flow does not
    say so (a decoy never would): there every code is wrong (`Step.otp_correct`)."""
    return not step.snapshot.probed and step.guesses_used_up


def _password_errors(step: Step) -> Sequence[FlowError]:
    return step.password_errors


@rule(
    "password.too_short",
    "password.too_long",
    "password.no_lowercase",
    "password.no_uppercase",
    "password.no_digit",
    "password.no_special",
    "password.invalid_character",
    "password.mismatch",
    vi="Mật khẩu ≥ 8 ký tự gồm chữ thường, chữ hoa, chữ số, ký tự đặc biệt; xác nhận khớp.",
    en="Password of 8+ characters with lower, upper, digit and special; confirmation equal.",
    report=_password_errors,
)
def password_invalid(step: Step) -> bool:
    return bool(step.password_errors)


@rule(
    "flow.expired",
    vi="Cả phiên đăng ký đã quá thời hạn (mặc định 30 phút).",
    en="The whole flow is past its lifetime (30 minutes by default).",
)
def flow_expired(step: Step) -> bool:
    return step.now >= step.snapshot.expires_at


# --- actions --------------------------------------------------------------------------------


def record_method(step: Step) -> None:
    event = step.payload(ChooseMethod)
    step.changes.update(subject=event.subject, method=event.method)


def count_mismatch(step: Step) -> None:
    """Count a mismatch in the flow and against the client (the number's own count was
    taken by `bhxh_number_probed`, before the answer)."""
    step.changes["mismatches"] = step.snapshot.mismatches + 1
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
    phone = step.valid_form.phone  # on a match, the record's phone
    if data_mismatch(step) or _phone_used_up(step, phone):
        _send_decoy(step, phone)
    else:
        remember_citizen(step)
        send_otp(step)


def remember_citizen(step: Step) -> None:
    step.changes.update(citizen=step.citizen, email=step.valid_form.email)


@attrs.frozen
class OutgoingSms:
    """A text the engine sends after the step is saved; `undo` reverts the step's send.

    `quiet`, in a probed flow, keeps the saved send as it is when the text cannot go out
    (the phone's texts taken by another flow meanwhile, the provider failing): a decoy never
    fails, so a probed flow may not show that it did (no error, no second save).
    """

    phone: str
    message: SmsMessage
    undo: dict[str, Any]
    quiet: bool = False


def send_otp(step: Step) -> None:
    """Issue a new code for the phone on the BHXH record; the previous code stops working.

    The text goes out only after this step is saved, so of two requests racing on one flow
    only the one that saved sends: the per-flow send cap and cooldown hold under concurrency.
    If the text then fails, `undo` leaves no valid code and no cooldown, so the citizen can
    resend at once (a probed flow keeps both: `OutgoingSms.quiet`). A decoy resends a
    decoy; so does a probed flow whose phone has no texts left, where a flow that matched
    must look like one that did not.
    """
    snapshot = step.snapshot
    if snapshot.decoy_phone is not None or (
        snapshot.probed and _phone_used_up(step, step.otp_phone)
    ):
        _send_decoy(step, step.otp_phone)
        return
    services, policy = step.services, step.services.policy
    code = _otp.new_code()
    phone = step.citizen.phone
    step.outbox = OutgoingSms(
        phone=phone,
        message=policy.otp_message(code),
        undo={
            "otp": None,
            "otp_sends": snapshot.otp_sends,
            "otp_last_sent_at": snapshot.otp_last_sent_at,
        },
        quiet=snapshot.probed or step.changes.get("probed", False),
    )
    _issue(step, _otp.code_hash(services.otp_secret, snapshot.flow_id, code))


def _send_decoy(step: Step, phone: str) -> None:
    """What a sent code changes, for a code nobody gets: the counters and the view are a
    real send's, the hash is random (no code matches it), and no text goes out."""
    step.changes["decoy_phone"] = phone
    _issue(step, _otp.unmatchable_hash())


def _issue(step: Step, code_hash: str) -> None:
    step.changes.update(
        otp=_challenge(step, code_hash),
        otp_sends=step.snapshot.otp_sends + 1,
        otp_last_sent_at=step.now,
    )


def _challenge(step: Step, code_hash: str) -> OtpChallenge:
    return OtpChallenge(code_hash=code_hash, expires_at=step.now + step.services.policy.otp_ttl)


def count_wrong_otp(step: Step) -> None:
    step.changes["otp_failures"] = step.snapshot.otp_failures + 1


def spend_otp(step: Step) -> None:
    """A code works once: forget it when it is accepted or when the flow locks."""
    step.changes["otp"] = None


def create_account(step: Step) -> None:
    """Hash the password and add the level-2 account; a lost race raises DuplicateAccountError.

    An account this flow already created (its completing save was lost: a crash, a timeout)
    gets this request's password hash instead: the password that works is the one of the
    request that reports the flow completed, not of an attempt the citizen never saw finish.
    """
    password = normalise_password(step.payload(SetPassword).password)
    password_hash = _call("hasher", step.services.hasher.hash, password)
    users, account = step.services.users, step.existing_account
    if account is None:
        account = Account.for_citizen(
            step.citizen,
            account_id=secrets.token_hex(16),
            email=step.snapshot.email,
            created_at=step.now,
            flow_id=step.snapshot.flow_id,
        )
        _call("storage", users.add, account, password_hash)
    else:
        _call("storage", users.replace_password_hash, account, password_hash)
    step.changes["account"] = account
