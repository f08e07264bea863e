"""The domain's values: what BHXH knows, what the citizen typed, the account it earns.

All frozen: a step computes a new snapshot instead of changing the old one, which is what
lets a flow be loaded, stepped and saved by any app server.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import attrs

from regflow._errors import Message
from regflow._masking import mask_id
from regflow._ui import ui

if TYPE_CHECKING:
    from collections.abc import Iterable


def _masked(number: object) -> str:
    """Personal numbers in a repr (a log line, a traceback) show only their last digits."""
    return repr(mask_id(number)) if isinstance(number, str) else "<hidden>"


def _in_order(numbers: Iterable[str]) -> tuple[str, ...]:
    """Former ID numbers as a set in a fixed order, so two records that list the same numbers
    differently are equal, and a store can give them back as it found them."""
    return tuple(sorted(set(numbers)))


#: An account registered with a BHXH number is verified by the social insurance agency.
BHXH_VERIFICATION_LEVEL = 2


@attrs.frozen(kw_only=True)
class BhxhRecord:
    """A citizen as the social insurance database knows them.

    `id_number` is the CMT (9 digits) or CCCD (12 digits) that BHXH holds now, and
    `former_id_numbers` the ones it held before (a CMND replaced by a CCCD stays valid on
    older documents): every one of them decides whether the citizen already has an account.
    The engine normalises what a registry returns (`regflow.ports.BhxhRegistry`).
    """

    bhxh_number: str = attrs.field(repr=_masked)
    full_name: str
    date_of_birth: date
    phone: str = attrs.field(repr=_masked)
    id_number: str = attrs.field(repr=_masked)
    former_id_numbers: tuple[str, ...] = attrs.field(default=(), converter=_in_order, repr=_masked)

    @property
    def id_numbers(self) -> tuple[str, ...]:
        """Every CMT/CCCD number the citizen is known by, the current one first."""
        return (self.id_number, *self.former_id_numbers)


@attrs.frozen(kw_only=True)
class VerifiedIdentity:
    """A citizen as the national identity platform (VNeID) asserts them in a verified ID
    token: the personal ID number (CCCD) and the ones it replaced, the name, the date of
    birth, the phone, and the assurance level of the account (2: verified by the police,
    Decree 69/2024/NĐ-CP). The VNeID flow normalises the name and the phone."""

    id_number: str = attrs.field(repr=_masked)
    full_name: str
    date_of_birth: date
    phone: str = attrs.field(repr=_masked)
    level: int
    former_id_numbers: tuple[str, ...] = attrs.field(default=(), converter=_in_order, repr=_masked)


@attrs.frozen(kw_only=True)
class RegistrationForm:
    """The BHXH form after validation: every field parsed and normalised."""

    bhxh_number: str = attrs.field(repr=_masked)
    full_name: str
    date_of_birth: date
    phone: str = attrs.field(repr=_masked)  # E.164, e.g. +84912345678
    email: str | None = None
    id_number: str | None = attrs.field(default=None, repr=_masked)  # digits only


@attrs.frozen(kw_only=True)
class Account:
    """A portal account created by the flow; the password hash is never part of it.

    `former_id_numbers` are the record's older CMT/CCCD numbers: the account holds them too,
    so a record that names the citizen by any of them finds this account.
    """

    account_id: str
    id_number: str = attrs.field(repr=_masked)
    bhxh_number: str = attrs.field(repr=_masked)
    full_name: str
    date_of_birth: date
    phone: str = attrs.field(repr=_masked)
    email: str | None
    verification_level: int
    source: str
    created_at: datetime
    flow_id: str
    former_id_numbers: tuple[str, ...] = attrs.field(default=(), converter=_in_order, repr=_masked)
    #: When the national identity platform (VNeID) last verified the account's owner.
    vneid_verified_at: datetime | None = None

    @property
    def id_numbers(self) -> tuple[str, ...]:
        """Every CMT/CCCD number the account is known by, the current one first."""
        return (self.id_number, *self.former_id_numbers)

    @classmethod
    def for_identity(
        cls, identity: VerifiedIdentity, *, account_id: str, created_at: datetime, flow_id: str
    ) -> Account:
        """The account a VNeID sign-up earns: the platform's identity, at the level it
        asserted. Its BHXH number is the ID number: the Law on Social Insurance 2024 makes
        the personal identification number the social-insurance code."""
        return cls(
            account_id=account_id,
            id_number=identity.id_number,
            bhxh_number=identity.id_number,
            full_name=identity.full_name,
            date_of_birth=identity.date_of_birth,
            phone=identity.phone,
            email=None,
            verification_level=identity.level,
            source="vneid",
            created_at=created_at,
            flow_id=flow_id,
            former_id_numbers=identity.former_id_numbers,
            vneid_verified_at=created_at,
        )

    @classmethod
    def for_citizen(
        cls,
        citizen: BhxhRecord,
        *,
        account_id: str,
        email: str | None,
        created_at: datetime,
        flow_id: str,
    ) -> Account:
        """The account a BHXH match earns: the record's identity, verification level 2."""
        return cls(
            account_id=account_id,
            id_number=citizen.id_number,
            bhxh_number=citizen.bhxh_number,
            full_name=citizen.full_name,
            date_of_birth=citizen.date_of_birth,
            phone=citizen.phone,
            email=email,
            verification_level=BHXH_VERIFICATION_LEVEL,
            source="bhxh",
            created_at=created_at,
            flow_id=flow_id,
            former_id_numbers=citizen.former_id_numbers,
        )


# --- events: what the citizen does, as the host app passes it in -------------------------


@attrs.frozen
class ChooseMethod:
    """The "Chọn phương thức đăng ký" screen: registrant type and method."""

    subject: str = attrs.field(metadata=ui("Đối tượng đăng ký", "Registrant"))
    method: str = attrs.field(metadata=ui("Phương thức đăng ký", "Method"))


@attrs.frozen(kw_only=True)
class SubmitForm:
    """The "Đăng ký bằng Bảo hiểm xã hội" form, as typed (strings straight from the page)."""

    bhxh_number: str = attrs.field(repr=_masked, metadata=ui("Mã số BHXH", "BHXH number"))
    full_name: str = attrs.field(metadata=ui("Họ và tên", "Full name"))
    date_of_birth: str | date = attrs.field(
        metadata=ui("Ngày sinh (dd/mm/yyyy)", "Date of birth (dd/mm/yyyy)", kind="date")
    )
    phone: str = attrs.field(repr=_masked, metadata=ui("Số điện thoại", "Phone number", kind="tel"))
    email: str | None = attrs.field(default=None, metadata=ui("Email", "Email", kind="email"))
    #: The CMND/CCCD number (the login name), which version 2 of the registration asks for.
    id_number: str | None = attrs.field(
        default=None, repr=_masked, metadata=ui("Số CMND/CCCD", "CMND/CCCD number")
    )


@attrs.frozen
class Remedy:
    """What a citizen whose ID number already has an account can do (the seed's three)."""

    code: str
    title: Message
    description: Message


REMEDIES = (
    Remedy(
        "forgot_password",
        Message("Quên mật khẩu", "Forgot password"),
        Message(
            "Lấy lại mật khẩu bằng chức năng “Quên mật khẩu” tại màn hình đăng nhập.",
            "Recover the password with “Forgot password” on the login screen.",
        ),
    ),
    Remedy(
        "service_counter",
        Message("Quầy dịch vụ", "Service counter"),
        Message(
            "Đến quầy dịch vụ để được hỗ trợ lấy lại mật khẩu.",
            "Go to a service counter to have the password recovered.",
        ),
    ),
    Remedy(
        "complaint",
        Message("Khiếu nại", "Complaint"),
        Message(
            "Gửi khiếu nại nếu bạn không phải là chủ sở hữu tài khoản này.",
            "File a complaint if you do not own that account.",
        ),
    ),
)
