"""The registration by VNeID ("Đăng ký bằng tài khoản định danh điện tử"), declared once:
`VNEID_REGISTRATION`.

Under Decree 69/2024/NĐ-CP a citizen proves who they are to an online public service with
their VNeID account (level 2: the identity verified by the police). The flow sends the
citizen to the national identity platform over OpenID Connect's authorization code flow
with PKCE, `state` and `nonce` (its secrets stay in the flow's context, server-side), takes
the callback with the code, and gets the verified identity through the `IdentityProvider`
port (the host's ``identity`` port). Then:

- an account known by any of the citizen's ID numbers is *linked*: the citizen proves they
  own it (its password, or an OTP to its phone) and it is marked VNeID-verified, its level
  raised to the platform's;
- otherwise a new account is made at the level the platform asserted, with a password or
  without one (sign-in by VNeID only), as `Policy.vneid_password` says.

Every refusal of the platform's answer sends the citizen back to the start of the flow
(`READY`) with its own code; a platform that cannot answer is the retryable
``identity.unavailable``, the flow staying where it was.
"""

from __future__ import annotations

import enum
import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs

from regflow._domain import Account, BhxhRecord, VerifiedIdentity
from regflow._errors import ErrorSpec, Message
from regflow._masking import mask_id, mask_phone
from regflow._passwords import PersonalData
from regflow._policy import VneidPassword
from regflow.declare import (
    EXPIRE,
    FLOW_EXPIRED,
    FLOW_LOCKED,
    FlowSpec,
    Step,
    call_port,
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
from regflow.ports.identity import IdentityRefused, Refusal, code_challenge
from regflow.vn._records import RecordValueError, normalise_record
from regflow.vn._validation import normalise_password

if TYPE_CHECKING:
    from collections.abc import Mapping

    from regflow.declare import FlowSnapshot, Services
    from regflow.ports import IdentityProvider

#: The name the host gives the `IdentityProvider` port: ``Engine(ports={"identity": …})``.
IDENTITY_PORT: Final = "identity"
#: The OAuth error a platform answers when the citizen cancels (RFC 6749 §4.1.2.1).
CANCELLED: Final = "access_denied"
#: A callback's value longer than this is no value a platform sends: junk, not looked at.
_MAX_VALUE_LENGTH: Final = 2048
_CCCD_LENGTH: Final = 12


def _hidden(_: object) -> str:
    return "<hidden>"


class VneidState(enum.StrEnum):
    """The steps of the registration by VNeID."""

    READY = "ready"
    AWAITING_CALLBACK = "awaiting_callback"
    LINKING = "linking"
    OTP_PENDING = "otp_pending"
    OTP_EXPIRED = "otp_expired"
    SETTING_PASSWORD = "setting_password"  # noqa: S105 - a state, not a secret
    COMPLETED = "completed"
    LOCKED = "locked"
    EXPIRED = "expired"


# --- events -----------------------------------------------------------------------------------


#: The callback's fields: the query string of the platform's redirect, typed by nobody.
_FROM_REDIRECT: Final = ui(
    "Tham số chuyển hướng", "Redirect parameter", kind="hidden", max_length=None
)


@attrs.frozen
class BeginVneid:
    """The button "Đăng nhập bằng VNeID": the host then redirects to `authorization_url`."""


@attrs.frozen(kw_only=True)
class VneidCallback:
    """What the platform sent back to the redirect URI, as the query string had it: the
    code and the state, or an error (``access_denied`` when the citizen cancelled)."""

    code: str | None = attrs.field(default=None, repr=_hidden, metadata=_FROM_REDIRECT)
    state: str | None = attrs.field(default=None, repr=_hidden, metadata=_FROM_REDIRECT)
    error: str | None = attrs.field(default=None, metadata=_FROM_REDIRECT)


@attrs.frozen
class LinkByPassword:
    """The link screen: the existing account's password (never shown in a repr)."""

    password: str = attrs.field(
        repr=_hidden, metadata=ui("Mật khẩu tài khoản", "The account's password", kind="password")
    )


@attrs.frozen
class LinkByOtp:
    """The link screen's "Nhận OTP": a code to the existing account's phone."""


@attrs.frozen
class SkipPassword:
    """The password screen's "Bỏ qua": sign in by VNeID only (if the host's policy allows)."""


# --- context and view -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class VneidContext(OtpContext):
    """What the flow remembers. The authorization request's secrets (`auth_state`, `nonce`,
    `code_verifier`) live here alone, server-side, until the callback spends them; the
    identity the platform verified; the account it links or made."""

    auth_state: str | None = attrs.field(default=None, repr=_hidden)
    nonce: str | None = attrs.field(default=None, repr=_hidden)
    code_verifier: str | None = attrs.field(default=None, repr=_hidden)
    authorization_url: str | None = attrs.field(default=None, repr=_hidden)
    identity: VerifiedIdentity | None = None
    account: Account | None = None
    password_failures: int = 0


@attrs.frozen(kw_only=True)
class VneidDetails:
    """What the flow's screens show beyond the generic `FlowView`: where to send the
    citizen (`authorization_url`, while the flow awaits the callback), the name the
    platform verified, and whether the password screen may be skipped."""

    #: It carries the request's `state` and `nonce`, as it must: never shown in a repr.
    authorization_url: str | None = attrs.field(default=None, repr=_hidden)
    full_name: str | None = None
    password: VneidPassword | None = None


# --- facts ------------------------------------------------------------------------------------


def _identity_port(step: Step) -> IdentityProvider:
    provider: IdentityProvider = step.services.port(IDENTITY_PORT)
    return provider


def _text(value: object) -> str | None:
    """A callback value worth reading: text of a sane length, else None."""
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_VALUE_LENGTH else None


def _same(typed: str | None, kept: str | None) -> bool:
    """Constant-time equality of a callback's value and the kept one (any text compares)."""
    if typed is None or kept is None:
        return False
    return hmac.compare_digest(
        typed.encode("utf-8", "surrogatepass"), kept.encode("utf-8", "surrogatepass")
    )


def _callback(step: Step) -> VneidCallback:
    return step.payload(VneidCallback)


def _code(step: Step) -> str | None:
    """The callback's code if it can be one (RFC 6749: printable ASCII), else None."""
    code = _text(_callback(step).code)
    return code if code is not None and code.isascii() and code.isprintable() else None


@fact
def platform_answer(step: Step) -> VerifiedIdentity | IdentityRefused:
    """The platform's answer to the callback's code: an identity, or why there is none."""
    code, context = _code(step), step.context
    if code is None:
        return IdentityRefused(Refusal.CODE_REJECTED, "malformed_code")
    return call_port(
        IDENTITY_PORT,
        _identity_port(step).exchange,
        code=code,
        code_verifier=context.code_verifier,
        nonce=context.nonce,
    )


def _refused(step: Step, refusal: Refusal) -> bool:
    answer = platform_answer(step)
    return isinstance(answer, IdentityRefused) and answer.refusal is refusal


@fact
def identity(step: Step) -> VerifiedIdentity | None:
    """The verified identity in the shape the stores keep (name tidied, phone E.164, the ID
    numbers checked against the date of birth), or None when the platform's values cannot
    be put in it; checked once the answer is no refusal."""
    answer = platform_answer(step)
    assert isinstance(answer, VerifiedIdentity)  # noqa: S101 - the refusals are ruled first
    record = BhxhRecord(
        bhxh_number=answer.id_number,
        full_name=answer.full_name,
        date_of_birth=answer.date_of_birth,
        phone=answer.phone,
        id_number=answer.id_number,
        former_id_numbers=answer.former_id_numbers,
    )
    try:
        tidy = normalise_record(record, answer.id_number)
    except RecordValueError:
        return None
    if len(tidy.id_number) != _CCCD_LENGTH:
        return None
    return attrs.evolve(
        answer,
        full_name=tidy.full_name,
        phone=tidy.phone,
        former_id_numbers=tidy.former_id_numbers,
    )


def _known_identity(step: Step) -> VerifiedIdentity:
    found = step.context.identity or identity(step)
    assert found is not None  # noqa: S101 - identity_invalid is ruled first
    return found


@fact
def existing_account(step: Step) -> Account | None:
    """The account of any of the citizen's ID numbers, as the BHXH registration finds one
    (a VNeID account's BHXH number is its ID number)."""
    person = _known_identity(step)
    return call_port(
        "storage", step.users.find, person.id_number, person.id_number, person.former_id_numbers
    )


def linked_account(step: Step) -> Account:
    account: Account | None = step.context.account
    assert account is not None  # noqa: S101 - the link screen has its account
    return account


#: The OTP challenge of the link: codes go to the existing account's phone, wrong codes
#: count against its BHXH number with the other flows'.
otp = OtpKit(
    phone=lambda step: linked_account(step).phone,
    holder=lambda step: linked_account(step).bhxh_number,
)

#: The new account's password rule: a standards profile refuses the identity's own data.
passwords = PasswordKit(personal=lambda step: PersonalData.of(_known_identity(step)))

# --- rules ------------------------------------------------------------------------------------


@rule(
    "vneid.state_mismatch",
    vi="Tham số state của lời gọi lại khác state đã gửi đi: yêu cầu giả mạo (CSRF).",
    en="The callback's state is not the one sent: a forged request (CSRF).",
)
def state_mismatch(step: Step) -> bool:
    return not _same(_text(_callback(step).state), step.context.auth_state)


@rule(
    "vneid.cancelled",
    vi="Công dân đã hủy đăng nhập tại VNeID (access_denied).",
    en="The citizen cancelled at the platform (access_denied).",
)
def citizen_cancelled(step: Step) -> bool:
    return _callback(step).error == CANCELLED


@rule(
    "vneid.platform_error",
    vi="VNeID trả về một lỗi khác (server_error…): lỗi của nền tảng, không của công dân.",
    en="The platform answered another error (server_error…): its failure, not the citizen's.",
)
def platform_failed(step: Step) -> bool:
    return _callback(step).error is not None


@rule(
    "vneid.code_rejected",
    vi="Mã ủy quyền không hợp lệ, đã dùng hoặc hết hạn.",
    en="The authorization code is malformed, used already or expired.",
)
def code_rejected(step: Step) -> bool:
    return _refused(step, Refusal.CODE_REJECTED)


@rule(
    "vneid.token_invalid",
    vi="ID token sai chữ ký, bên phát hành, đối tượng nhận, nonce hoặc đã hết hạn.",
    en="The ID token's signature, issuer, audience, nonce or expiry is wrong.",
)
def token_invalid(step: Step) -> bool:
    return _refused(step, Refusal.TOKEN_INVALID)


@rule(
    "vneid.identity_invalid",
    vi="Thông tin định danh VNeID trả về không dùng được (số định danh, họ tên, SĐT…).",
    en="The identity the platform asserts cannot be used (ID number, name, phone…).",
)
def identity_invalid(step: Step) -> bool:
    return identity(step) is None


@rule(
    "vneid.level_too_low",
    vi="Mức định danh của tài khoản VNeID thấp hơn mức tối thiểu của cổng (mặc định 2).",
    en="The VNeID account's assurance level is below the portal's minimum (2 by default).",
)
def assurance_too_low(step: Step) -> bool:
    return _known_identity(step).level < step.services.policy.vneid_min_level


@rule(
    "vneid.account_exists",
    vi="Đã có tài khoản với một số định danh (hiện tại hoặc cũ) của công dân: liên kết.",
    en="An account exists for one of the citizen's ID numbers: it is linked.",
)
def account_found(step: Step) -> bool:
    account = existing_account(step)
    return account is not None and account.flow_id != step.snapshot.flow_id


@rule(
    "vneid.no_password",
    vi="Tài khoản không có mật khẩu: liên kết bằng OTP.",
    en="The account has no password: link it by OTP.",
    field="password",
)
def account_has_no_password(step: Step) -> bool:
    return stored_hash(step) is None


@fact
def stored_hash(step: Step) -> str | None:
    return call_port("storage", step.users.password_hash, linked_account(step).account_id)


@fact
def password_matches(step: Step) -> bool:
    typed = step.payload(LinkByPassword).password
    hashed = stored_hash(step)
    if not isinstance(typed, str) or hashed is None:
        return False
    return call_port("hasher", step.hasher.verify, hashed, normalise_password(typed))


@rule(
    "vneid.too_many_wrong_passwords",
    vi="Nhập sai mật khẩu của tài khoản quá số lần cho phép (mặc định 5): phiên bị khóa.",
    en="The account's password was wrong too many times (5 by default): the flow locks.",
)
def too_many_wrong_passwords(step: Step) -> bool:
    last = step.context.password_failures + 1 >= step.services.policy.otp_max_attempts
    return last and not password_matches(step)


@rule(
    "vneid.password_wrong",
    vi="Mật khẩu của tài khoản không đúng.",
    en="The account's password is wrong.",
    field="password",
)
def password_wrong(step: Step) -> bool:
    return not password_matches(step)


@rule(
    "vneid.password_not_offered",
    vi="Chính sách của cổng: tài khoản VNeID mới không có mật khẩu.",
    en="The portal's policy: a new VNeID account has no password.",
)
def password_not_offered(step: Step) -> bool:
    return step.services.policy.vneid_password is VneidPassword.NONE


@rule(
    "vneid.password_required",
    vi="Chính sách của cổng: tài khoản VNeID mới phải có mật khẩu.",
    en="The portal's policy: a new VNeID account must have a password.",
)
def password_required(step: Step) -> bool:
    return step.services.policy.vneid_password is VneidPassword.REQUIRED


@rule(
    "vneid.account_exists",
    vi="Trong lúc đặt mật khẩu, một phiên khác đã tạo tài khoản cho số định danh: liên kết.",
    en="Another flow made an account for the ID number meanwhile: it is linked instead.",
)
def account_appeared(step: Step) -> bool:
    return account_found(step)


# --- actions ----------------------------------------------------------------------------------


def prepare_request(step: Step) -> None:
    """Make the authorization request's secrets (each 256 bits) and its URL; the previous
    request, if any, stops working."""
    auth_state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 asks 43 to 128
    url = call_port(
        IDENTITY_PORT,
        _identity_port(step).authorization_url,
        state=auth_state,
        nonce=nonce,
        code_challenge=code_challenge(verifier),
    )
    step.changes.update(
        auth_state=auth_state, nonce=nonce, code_verifier=verifier, authorization_url=url
    )


def forget_request(step: Step) -> None:
    """A callback spends the request whatever it brings: no code or state works twice."""
    step.changes.update(auth_state=None, nonce=None, code_verifier=None, authorization_url=None)


def remember_identity(step: Step) -> None:
    forget_request(step)
    step.changes["identity"] = _known_identity(step)


def remember_account(step: Step) -> None:
    """Keep the existing account for the link screen (found by the callback, or made by
    another flow while this one set its password)."""
    if step.context.identity is None:
        remember_identity(step)
    step.changes["account"] = existing_account(step)


def mark_verified(step: Step) -> None:
    """The citizen proved they own the account: it is VNeID-verified, its level raised."""
    account, person = linked_account(step), _known_identity(step)
    call_port("storage", step.users.verify_identity, account.account_id, person.level, step.now)
    level = max(account.verification_level, person.level)
    step.changes["account"] = attrs.evolve(
        account, verification_level=level, vneid_verified_at=step.now
    )


def _create(step: Step, hashed: str | None) -> None:
    """Add the account the identity earns; one this flow already made (its completing save
    was lost) gets this request's password instead. A lost race raises DuplicateAccountError,
    and the engine's retry then finds the other flow's account (`account_appeared`)."""
    users, account = step.users, existing_account(step)
    if account is None:
        account = Account.for_identity(
            _known_identity(step),
            account_id=secrets.token_hex(16),
            created_at=step.now,
            flow_id=step.snapshot.flow_id,
        )
        call_port("storage", users.add, account, hashed)
    elif hashed is not None:
        call_port("storage", users.replace_password_hash, account, hashed)
    step.announce_account(account.account_id, mask_id(account.id_number))
    step.changes["account"] = account


def create_with_password(step: Step) -> None:
    _create(step, password_hash(step))


def create_without_password(step: Step) -> None:
    _create(step, None)


def count_wrong_password(step: Step) -> None:
    step.changes["password_failures"] = step.context.password_failures + 1


# --- the declaration --------------------------------------------------------------------------

V = VneidState

STATES: Final = {
    V.READY: state("Đăng ký bằng VNeID", "Registering by VNeID"),
    V.AWAITING_CALLBACK: state("Chờ xác thực tại VNeID", "Awaiting the platform"),
    V.LINKING: state("Liên kết tài khoản đã có", "Linking the existing account"),
    V.OTP_PENDING: OTP_PENDING_STATE,
    V.OTP_EXPIRED: OTP_EXPIRED_STATE,
    V.SETTING_PASSWORD: state("Đặt mật khẩu (tùy chọn)", "Setting a password (optional)"),
    V.COMPLETED: state("Hoàn tất", "Completed", terminal="flow.finished"),
    V.LOCKED: FLOW_LOCKED,
    V.EXPIRED: FLOW_EXPIRED,
}

EVENTS: Final = {
    "begin": event(BeginVneid, "Đăng nhập bằng VNeID", "Sign in with VNeID"),
    "vneid_callback": event(VneidCallback, "Trở về từ VNeID", "Back from the platform"),
    "link_password": event(LinkByPassword, "Liên kết bằng mật khẩu", "Link by password"),
    "link_otp": event(LinkByOtp, "Liên kết bằng OTP", "Link by OTP"),
    **OTP_EVENTS,
    "set_password": event(SetPassword, "Đặt mật khẩu", "Set the password"),
    "skip_password": event(SkipPassword, "Bỏ qua mật khẩu", "No password"),
}

ACTIVE: Final = [s for s, info in STATES.items() if not info.terminal]

TRANSITIONS: Final[list[dict[str, Any]]] = [
    {"trigger": EXPIRE, "source": ACTIVE, "dest": V.EXPIRED, "conditions": [flow_expired]},
    {"trigger": "begin", "source": V.READY, "dest": V.AWAITING_CALLBACK,
     "after": [prepare_request]},
    # The callback: its state first (a forged callback changes nothing), then what it says.
    {"trigger": "vneid_callback", "source": V.AWAITING_CALLBACK, "dest": None,
     "conditions": [state_mismatch]},
    *({"trigger": "vneid_callback", "source": V.AWAITING_CALLBACK, "dest": V.READY,
       "conditions": [refusal], "after": [forget_request]}
      for refusal in (citizen_cancelled, platform_failed, code_rejected, token_invalid,
                      identity_invalid, assurance_too_low)),
    {"trigger": "vneid_callback", "source": V.AWAITING_CALLBACK, "dest": V.LINKING,
     "conditions": [account_found], "after": [remember_account]},
    {"trigger": "vneid_callback", "source": V.AWAITING_CALLBACK, "dest": V.SETTING_PASSWORD,
     "after": [remember_identity]},
    # The link: the existing account's password, or a code to its phone.
    {"trigger": "link_password", "source": V.LINKING, "dest": None,
     "conditions": [account_has_no_password]},
    {"trigger": "link_password", "source": V.LINKING, "dest": V.LOCKED,
     "conditions": [too_many_wrong_passwords], "after": [count_wrong_password]},
    {"trigger": "link_password", "source": V.LINKING, "dest": None,
     "conditions": [password_wrong], "after": [count_wrong_password]},
    {"trigger": "link_password", "source": V.LINKING, "dest": V.COMPLETED,
     "before": [mark_verified]},
    {"trigger": "link_otp", "source": V.LINKING, "dest": None,
     "conditions": [otp.send_rate_limited]},
    {"trigger": "link_otp", "source": V.LINKING, "dest": V.OTP_PENDING,
     "after": [otp.send_otp]},
    *otp.confirm(pending=V.OTP_PENDING, expired=V.OTP_EXPIRED, locked=V.LOCKED,
                 confirmed=[{"dest": V.COMPLETED, "before": [mark_verified]}]),
    *otp.resend(pending=V.OTP_PENDING, expired=V.OTP_EXPIRED),
    # A new account: with a password, or without one, as the host's policy says.
    {"trigger": "set_password", "source": V.SETTING_PASSWORD, "dest": None,
     "conditions": [password_not_offered]},
    {"trigger": "set_password", "source": V.SETTING_PASSWORD, "dest": None,
     "conditions": [passwords.invalid]},
    {"trigger": "set_password", "source": V.SETTING_PASSWORD, "dest": V.LINKING,
     "conditions": [account_appeared], "after": [remember_account]},
    {"trigger": "set_password", "source": V.SETTING_PASSWORD, "dest": V.COMPLETED,
     "before": [create_with_password]},
    {"trigger": "skip_password", "source": V.SETTING_PASSWORD, "dest": None,
     "conditions": [password_required]},
    {"trigger": "skip_password", "source": V.SETTING_PASSWORD, "dest": V.LINKING,
     "conditions": [account_appeared], "after": [remember_account]},
    {"trigger": "skip_password", "source": V.SETTING_PASSWORD, "dest": V.COMPLETED,
     "before": [create_without_password]},
]  # fmt: skip


def _error(code: str, vi: str, en: str, *, retryable: bool = False) -> ErrorSpec:
    return ErrorSpec(code, Message(vi, en), retryable=retryable)


ERRORS: Final = (
    _error(
        "identity.unavailable",
        "Hệ thống định danh điện tử VNeID tạm thời không phản hồi. Vui lòng thử lại sau.",
        "The VNeID identity platform is unavailable. Please try again later.",
        retryable=True,
    ),
    _error(
        "vneid.state_mismatch",
        "Yêu cầu trở về từ VNeID không hợp lệ. Vui lòng đăng nhập lại từ cổng.",
        "The request back from VNeID is not valid. Please sign in again from the portal.",
    ),
    _error(
        "vneid.cancelled",
        "Bạn đã hủy đăng nhập bằng VNeID.",
        "You cancelled the sign-in with VNeID.",
    ),
    _error(
        "vneid.platform_error",
        "Hệ thống VNeID không hoàn tất được việc đăng nhập. Vui lòng đăng nhập lại sau.",
        "The VNeID platform could not complete the sign-in. Please sign in again later.",
    ),
    _error(
        "vneid.code_rejected",
        "Phiên đăng nhập VNeID đã hết hạn hoặc đã được sử dụng. Vui lòng đăng nhập lại.",
        "The VNeID sign-in has expired or was used already. Please sign in again.",
    ),
    _error(
        "vneid.token_invalid",
        "Không xác minh được thông tin từ VNeID. Vui lòng đăng nhập lại.",
        "The answer from VNeID could not be verified. Please sign in again.",
    ),
    _error(
        "vneid.identity_invalid",
        "Thông tin định danh từ VNeID không đầy đủ. Vui lòng liên hệ tổng đài hỗ trợ.",
        "The identity from VNeID is incomplete. Please contact the help desk.",
    ),
    _error(
        "vneid.level_too_low",
        "Tài khoản VNeID cần được định danh mức 2. Vui lòng nâng mức tài khoản rồi thử lại.",
        "The VNeID account must be identified at level 2. Please upgrade it and try again.",
    ),
    _error(
        "vneid.account_exists",
        "Bạn đã có tài khoản. Vui lòng xác nhận đó là tài khoản của bạn để liên kết với VNeID.",
        "You already have an account. Please confirm it is yours to link it to VNeID.",
    ),
    _error(
        "vneid.no_password",
        "Tài khoản này chưa có mật khẩu. Vui lòng liên kết bằng mã OTP.",
        "This account has no password. Please link it with an OTP.",
    ),
    _error(
        "vneid.password_wrong",
        "Mật khẩu không đúng.",
        "The password is wrong.",
    ),
    _error(
        "vneid.too_many_wrong_passwords",
        "Bạn đã nhập sai mật khẩu quá số lần cho phép. Phiên đã bị khóa.",
        "The password was wrong too many times. The flow is locked.",
    ),
    _error(
        "vneid.password_not_offered",
        "Tài khoản đăng ký bằng VNeID chỉ đăng nhập bằng VNeID, không có mật khẩu.",
        "An account registered by VNeID signs in by VNeID only, with no password.",
    ),
    _error(
        "vneid.password_required",
        "Vui lòng đặt mật khẩu cho tài khoản.",
        "Please set a password for the account.",
    ),
)


def vneid_view(snapshot: FlowSnapshot, services: Services) -> Mapping[str, Any]:
    """Where to send the citizen, whom the platform verified, the code screen of the link
    (the phone masked), and the account at the end."""
    current, context = snapshot.state, snapshot.context
    name = context.identity.full_name if context.identity else None
    if current is V.AWAITING_CALLBACK:
        return {"details": VneidDetails(authorization_url=context.authorization_url)}
    if current in (V.OTP_PENDING, V.OTP_EXPIRED):
        phone = mask_phone(context.account.phone) if context.account else None
        return otp_view(context, services.policy, phone_hint=phone)
    if current is V.SETTING_PASSWORD:
        policy = services.policy.vneid_password
        return {"details": VneidDetails(full_name=name, password=policy)}
    if current is V.LINKING:
        phone = mask_phone(context.account.phone) if context.account else None
        return {"phone_hint": phone, "details": VneidDetails(full_name=name)}
    if current is V.COMPLETED:
        return {"account": context.account}
    return {}


def _subject(context: VneidContext) -> str | None:
    return context.identity.id_number if context.identity else None


#: How long a sign-up by VNeID lives: the round trip to the platform and a link take minutes.
LIFETIME: Final = timedelta(minutes=30)

VNEID_REGISTRATION: Final = FlowSpec(
    name="vneid_registration",
    title=Message("Đăng ký bằng tài khoản định danh điện tử VNeID", "Registration by VNeID"),
    states=STATES,
    initial=V.READY,
    events=EVENTS,
    transitions=TRANSITIONS,
    context=VneidContext,
    lifetime=LIFETIME,
    view=vneid_view,
    subject=_subject,
    requires={IDENTITY_PORT, "sms", "users", "hasher"},
    errors=ERRORS,
)
