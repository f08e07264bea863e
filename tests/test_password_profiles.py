"""Password profiles: the seed's rule by default, the standards' (NIST SP 800-63B, ASVS 5.0)
when the host selects it, and a host's own built from either as data."""

from __future__ import annotations

import unicodedata
from datetime import date

import attrs
import pytest

from regflow import (
    PASSWORD_RECOVERY,
    PORTAL_PASSWORDS,
    STANDARDS_PASSWORDS,
    VNEID_REGISTRATION,
    Account,
    BeginVneid,
    BhxhRecord,
    ConfirmOtp,
    Engine,
    PasswordProfile,
    PersonalData,
    Policy,
    RecoveryState,
    SetPassword,
    State,
    SubmitLogin,
    VneidState,
)
from regflow._passwords import common_passwords, password_errors
from regflow.testing import CITIZEN, FakePorts

from .conftest import at_password

#: The citizen of these tests: a name with a 4-letter part and a đ, a former CMND.
KHAI = BhxhRecord(
    bhxh_number="7912345678",
    full_name="Đặng Thị Minh Khai",
    date_of_birth=date(1988, 3, 9),
    phone="+84987654321",
    id_number="079188001234",
    former_id_numbers=("025123456",),
)


def codes(
    password: str, profile: PasswordProfile, personal: PersonalData | None = None
) -> set[str]:
    return {error.code for error in password_errors(password, password, profile, personal)}


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- the standards profile, by itself ----------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # no capital, digit or special: no composition rule
        "mưa rơi trên phố cổ",
        nfd("đường về"),  # 8 code points after NFC, more before
        "x" * 128,
    ],
)
def test_the_standards_profile_asks_for_length_alone(password: str) -> None:
    assert codes(password, STANDARDS_PASSWORDS) == set()
    assert codes(password, PORTAL_PASSWORDS) & {"password.no_uppercase", "password.no_digit"}


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("đường", {"password.too_short"}),
        (nfd("đườngv"), {"password.too_short"}),  # 6 code points in NFC, 9 in NFD
        ("x" * 129, {"password.too_long"}),
        ("mật khẩu\tdài", {"password.invalid_character"}),
        ("mật khẩu\ud800dài", {"password.invalid_character"}),
        ("a" * 1_000_000, {"password.too_long"}),
    ],
)
def test_the_standards_profile_counts_code_points_and_refuses_invisible_ones(
    password: str, expected: set[str]
) -> None:
    assert codes(password, STANDARDS_PASSWORDS) == expected


@pytest.mark.parametrize(
    "password", ["password", "iloveyou", "ILoveYou", "Password@123", "anhyeuem", "Matkhau@123"]
)
def test_the_standards_profile_refuses_common_passwords_whatever_their_case(password: str) -> None:
    assert codes(password, STANDARDS_PASSWORDS) == {"password.common"}


def test_common_passwords_the_seed_rule_lets_through_are_on_the_blocklist() -> None:
    """The point of the blocklist: the composition rule is easy to satisfy with a guess."""
    assert codes("Password@123", PORTAL_PASSWORDS) == set()
    assert "password@123" in common_passwords()
    assert len(common_passwords()) > 10_000
    assert all(len(word) >= 8 and word == word.casefold() for word in common_passwords())


# --- personal data ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "dangthiminhkhai rất dài",  # the whole name, unaccented, without spaces
        "ĐặngThịMinhKhai!",
        "mèo của khai nè",  # a part of 4 letters or more
        "Minh-Dang-2024-x",
        "sinh ngày 09031988",  # ddmmyyyy
        "sinh nhật 090388 ạ",  # ddmmyy
        "1988-03-09 là ngày",  # yyyymmdd, with separators
        "gọi 0987654321 nhé",  # the phone, as typed locally
        "số 987654321 của tôi",  # without its 0
        "cccd 079188001234 ok",
        "cmnd cũ 025123456 ok",  # the former CMND
        "bhxh 7912345678 ok",
    ],
)
def test_the_standards_profile_refuses_the_citizens_own_data(password: str) -> None:
    personal = PersonalData.of(KHAI, KHAI.bhxh_number)

    assert codes(password, STANDARDS_PASSWORDS, personal) == {"password.personal_data"}
    assert "password.personal_data" not in codes(password, PORTAL_PASSWORDS, personal)


def test_short_name_parts_are_not_refused_they_are_inside_too_many_words() -> None:
    personal = PersonalData(full_name="Lê Thị An", date_of_birth=None, numbers=())

    assert personal.fragments() == {"lethian"}
    assert codes("an toàn là bạn", STANDARDS_PASSWORDS, personal) == set()


def test_a_profile_checks_no_personal_data_it_was_not_given() -> None:
    assert codes("dangthiminhkhai rất dài", STANDARDS_PASSWORDS) == set()


# --- profiles as data ---------------------------------------------------------------------------


def test_a_host_extends_a_profile_and_its_messages_say_its_bounds() -> None:
    longer = attrs.evolve(
        STANDARDS_PASSWORDS,
        min_length=15,
        blocklist=STANDARDS_PASSWORDS.blocklist | {"Cổng dịch vụ công 2025"},
    )

    short = password_errors("mười bốn kí tự", "mười bốn kí tự", longer)
    assert [e.code for e in short] == ["password.too_short"]
    assert "15" in short[0].message.vi
    assert "15" in short[0].message.en
    assert codes("CỔNG DỊCH VỤ CÔNG 2025", longer) == {"password.common"}


def test_the_default_bounds_keep_the_catalogues_messages() -> None:
    (error,) = password_errors("Ab1!", "Ab1!", PORTAL_PASSWORDS)
    assert error.message.en == "The password must have at least 8 characters."


@pytest.mark.parametrize(("least", "most"), [(7, 128), (8, 129), (20, 16)])
def test_a_profile_outside_the_bounds_is_refused_at_start_up(least: int, most: int) -> None:
    with pytest.raises(ValueError, match="password"):
        PasswordProfile(name="mine", min_length=least, max_length=most)


def test_the_portal_profile_is_the_default() -> None:
    assert Policy().password is PORTAL_PASSWORDS


# --- through the flows ---------------------------------------------------------------------


def test_the_registration_refuses_the_bhxh_records_data_under_the_standards_profile() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(policy=Policy(password=STANDARDS_PASSWORDS))
    flow_id = at_password(engine, ports).flow_id

    refused = engine.send(flow_id, SetPassword("an nguyen van 1990", "an nguyen van 1990"))
    common = engine.send(flow_id, SetPassword("Password@123", "Password@123"))
    done = engine.send(flow_id, SetPassword("ba con mèo đen", "ba con mèo đen"))

    assert refused.error_codes() == ("password.personal_data",)
    assert refused.errors[0].field == "password"
    assert common.error_codes() == ("password.common",)
    assert done.state is State.COMPLETED


def test_the_recovery_refuses_the_accounts_data_under_the_standards_profile() -> None:
    ports = FakePorts.seeded()
    account = Account.for_citizen(
        CITIZEN, account_id="a-1", email=None, created_at=ports.clock.now(), flow_id="f"
    )
    ports.users.add(account, ports.hasher.hash("Cũ-rồi-1A!"))
    engine: Engine = ports.engine(policy=Policy(password=STANDARDS_PASSWORDS))
    flow_id = engine.send(
        engine.start(PASSWORD_RECOVERY.name).flow_id, SubmitLogin(CITIZEN.id_number)
    ).flow_id
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))

    refused = engine.send(flow_id, SetPassword("0912345678 là số", "0912345678 là số"))
    done = engine.send(flow_id, SetPassword("trăng rằm tháng tám", "trăng rằm tháng tám"))

    assert refused.error_codes() == ("password.personal_data",)
    assert done.state is RecoveryState.COMPLETED


def test_a_vneid_sign_up_refuses_the_identitys_data_under_the_standards_profile() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(VNEID_REGISTRATION, policy=Policy(password=STANDARDS_PASSWORDS))
    flow_id = engine.start(VNEID_REGISTRATION.name).flow_id
    engine.send(flow_id, BeginVneid())
    assert engine.send(flow_id, ports.identity.approve()).state is VneidState.SETTING_PASSWORD

    refused = engine.send(flow_id, SetPassword("sinh ngày 17051990", "sinh ngày 17051990"))
    done = engine.send(flow_id, SetPassword("gió mùa đông bắc về", "gió mùa đông bắc về"))

    assert refused.error_codes() == ("password.personal_data",)
    assert done.state is VneidState.COMPLETED
