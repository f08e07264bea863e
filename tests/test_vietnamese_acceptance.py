"""Acceptance: Vietnamese citizens and BHXH records as they really are, end to end.

An outside reviewer's cases, written before reading the rules' tables: real full names in
both tone-mark styles and in the cases records and forms use, phones as agencies and
citizens write them (pre-2018 11-digit mobiles included), old and new ID numbers, the dates
older records hold, passwords in Vietnamese. Each case goes through `Engine.send` with the
public fakes, or through a public helper.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import attrs
import httpx
import pytest

from regflow import (
    BhxhRecord,
    ConfirmOtp,
    FlowView,
    RecordValueError,
    SetPassword,
    State,
    normalise_name,
    normalise_password,
    normalise_record,
    place_tone_marks,
)
from regflow.adapters.http import LOOKUP_PATH, HttpBhxhRegistry, HttpSettings
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import at_form


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def record_of(**values: Any) -> BhxhRecord:
    """CITIZEN's record with some values as BHXH holds them."""
    return attrs.evolve(CITIZEN, **values)


def submit(ports: FakePorts, record: BhxhRecord, **typed: str | None) -> FlowView:
    """BHXH holds `record`; the citizen types `typed` over the clean values of CITIZEN."""
    ports.bhxh.records[record.bhxh_number] = record
    engine = ports.engine()
    return engine.send(at_form(engine).flow_id, form_for(CITIZEN, **typed))


#: A password of Vietnamese letters that the rule takes.
PASSWORD = "Mậtkhẩu@2024"


def register(ports: FakePorts, record: BhxhRecord, password: str = PASSWORD) -> FlowView:
    """Register `record`'s citizen to the end, typing the record's own values."""
    ports.bhxh.add(record)
    engine = ports.engine()
    view = engine.send(at_form(engine).flow_id, form_for(record))
    if view.state is not State.OTP_PENDING:
        return view
    view = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code()))
    return engine.send(view.flow_id, SetPassword(password, password))


def codes(view: FlowView) -> list[str]:
    return [error.code for error in view.errors]


# --- names --------------------------------------------------------------------------------

#: (as BHXH holds it, as the citizen types it): one person each.
SAME_NAMES = [
    ("NGUYỄN THỊ THUỶ", "Nguyễn Thị Thủy"),
    ("Nguyễn Thị Thủy", "nguyễn thị thuỷ"),
    ("TRẦN THỊ THUÝ", "Trần Thị Thúy"),
    ("Lê Thị Hoà", "LÊ THỊ HÒA"),
    ("Phạm Văn Hòe", "Phạm Văn Hoè"),
    ("Lò Thị Xoè", "Lò Thị Xòe"),
    ("Đỗ Như Quỳnh", "ĐỖ NHƯ QUỲNH"),
    ("Vũ Minh Khuê", "vũ minh khuê"),
    ("Hoàng Thị Huệ", "HOÀNG THỊ HUỆ"),
    ("Bùi Thu Uyên", "Bùi Thu Uyên"),
    ("Đặng Ánh Nguyệt", "ĐẶNG ÁNH NGUYỆT"),
    ("Ngô Văn Khuyến", "NGÔ VĂN KHUYẾN"),
    ("Dương Văn Quyết", "DƯƠNG VĂN QUYẾT"),
    ("Trương Gia Huy", "TRƯƠNG GIA HUY"),
    ("Hà Trường Giang", "HÀ TRƯỜNG GIANG"),
    ("Lý Trọng Nghĩa", "LÝ TRỌNG NGHĨA"),
    ("Mai Thị Hường", "MAI THỊ HƯỜNG"),
    ("Phan Văn Thoại", "PHAN VĂN THOẠI"),
    ("Trịnh Đăng Khoa", "TRỊNH ĐĂNG KHOA"),
    ("Cao Thị Loan", "CAO THỊ LOAN"),
    ("Nguyễn Hữu Thoả", "Nguyễn Hữu Thỏa"),
    ("Tạ Quang Thuỵ", "Tạ Quang Thụy"),
    ("Lê Thị Khoẻ", "Lê Thị Khỏe"),
    # peoples of the highlands and the north, as their records write them
    ("H'Hen Niê", "H'HEN NIÊ"),
    ("Ksor H'Bơ Khăp", "KSOR H'BƠ KHĂP"),
    ("Y-Moan Ênuôl", "Y-MOAN ÊNUÔL"),
    ("Đinh Y Ly", "ĐINH Y LY"),
    ("Mùa A Páo", "MÙA A PÁO"),
    ("Lò Văn Pọm", "LÒ VĂN PỌM"),
    # what phones and old code pages put for ' - Đ: iOS's ’, the modifier ʼ, Unicode's
    # hyphen, the Icelandic Ð of a record converted from a Windows code page
    ("H'Hen Niê", "H’Hen Niê"),
    ("Ksor H’Bơ Khăp", "Ksor H'Bơ Khăp"),
    ("H'Hen Niê", "H\u02bcHen Niê"),
    ("Y-Moan Ênuôl", "Y\u2010Moan Ênuôl"),
    ("\u00d0Ỗ VĂN \u00d0ỨC", "Đỗ Văn Đức"),
    # the same name typed or stored in decomposed Unicode, or with odd white space
    (nfd("Nguyễn Thị Thuỷ"), "Nguyễn Thị Thủy"),
    ("Nguyễn Thị Thủy", nfd("NGUYỄN THỊ THUỶ")),
    ("Nguyễn\tThị  Hoà", "Nguyễn Thị Hòa"),
    ("Nguyễn\u00a0Thị\u00a0Hoà", " Nguyễn  Thị Hòa "),
    # invisible characters of a spreadsheet export or a pasted document
    ("\ufeffNguyễn Thị Hoà", "Nguyễn Thị Hòa"),
    ("Nguyễn\u200bThị Hoà", "Nguyễn Thị Hòa"),
    ("Nguyễn Thị Ho\u00adà", "Nguyễn Thị\u200e Hòa"),
]


@pytest.mark.parametrize(("stored", "typed"), SAME_NAMES)
def test_the_same_name_in_any_style_case_form_or_spacing_gets_the_code(
    stored: str, typed: str
) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, record_of(full_name=stored), full_name=typed)

    assert view.state is State.OTP_PENDING, codes(view)
    assert normalise_name(stored) == normalise_name(typed)


#: (on the record, typed): two different names.
OTHER_NAMES = [
    ("Nguyễn Văn An", "Nguyễn Văn Ân"),
    ("Trần Minh Đức", "Trần Minh Dức"),
    ("Lê Thị Hoà", "Lê Thị Hoá"),
    ("Nguyễn Thị Thuỷ", "Nguyễn Thị Thuỳ"),
    ("Nguyễn Thị Thủy", "Nguyễn Thị Thuý"),
    ("Nguyễn Văn An", "Nguyễn An"),
    ("Nguyễn Văn An", "Văn Nguyễn An"),
    ("Trương Gia Huy", "Trương Già Huy"),
    ("Đỗ Như Quỳnh", "Đỗ Như Quynh"),
    ("Mai Thị Hường", "Mai Thị Hương"),
    ("H'Hen Niê", "H Hen Niê"),
]


@pytest.mark.parametrize(("stored", "typed"), OTHER_NAMES)
def test_a_name_that_differs_in_a_letter_a_mark_or_a_word_is_a_mismatch(
    stored: str, typed: str
) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, record_of(full_name=stored), full_name=typed)

    assert view.state is State.DATA_MISMATCH
    assert codes(view) == ["bhxh.data_mismatch"]


@pytest.mark.parametrize(
    ("text", "placed"),
    [
        ("Nguyễn Thị Thủy", "Nguyễn Thị Thuỷ"),
        ("NGUYỄN THỊ THỦY", "NGUYỄN THỊ THUỶ"),
        ("Hòa Hòe Xòe Thúy Thụy", "Hoà Hoè Xoè Thuý Thuỵ"),
        ("Quỳnh Khuê Huệ Uyên Nguyệt Khuyến Quyết", "Quỳnh Khuê Huệ Uyên Nguyệt Khuyến Quyết"),
        ("Giang Gia Nghĩa Hường Thoại Khoa Loan", "Giang Gia Nghĩa Hường Thoại Khoa Loan"),
        ("Ksor H'Bơ Khăp", "Ksor H'Bơ Khăp"),
        (nfd("Thủy"), "Thuỷ"),
    ],
)
def test_place_tone_marks_writes_the_new_style_and_keeps_case_and_letters(
    text: str, placed: str
) -> None:
    assert place_tone_marks(text) == placed
    assert place_tone_marks(placed) == placed


def test_normalise_name_folds_case_form_white_space_and_look_alikes_only() -> None:
    assert normalise_name(" NGUYỄN\tTHỊ\u00a0 THỦY ") == "nguyễn thị thuỷ"
    assert normalise_name(nfd("Đỗ Như Quỳnh")) == "đỗ như quỳnh"
    assert normalise_name("H’HEN NIÊ") == "h'hen niê"
    assert normalise_name("\u00d0inh Y Ly") == normalise_name("ĐINH Y LY") != "dinh y ly"


@pytest.mark.parametrize("typed", ["H’Hen Niê", "Y‐Moan Ênuôl", "\u00d0inh Y Ly"])
def test_a_name_typed_with_a_phone_s_apostrophe_or_hyphen_is_a_name(typed: str) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, record_of(full_name=typed), full_name=typed)

    assert view.state is State.OTP_PENDING, codes(view)


def test_a_record_name_is_kept_in_nfc_with_single_spaces() -> None:
    record = normalise_record(
        record_of(full_name=nfd(" NGUYỄN\tTHỊ\u00a0THUỶ ")), CITIZEN.bhxh_number
    )

    assert record.full_name == "NGUYỄN THỊ THUỶ"


@pytest.mark.parametrize(
    "stored", ["Nguyễn Văn An (Tý)", "Nguyễn V. An", "Nguyễn Văn An 2", "\u200b\ufeff", "A" * 101]
)
def test_a_record_name_no_citizen_could_type_is_bhxh_s_error_not_a_mismatch(stored: str) -> None:
    ports = FakePorts.seeded()

    views = [submit(ports, record_of(full_name=stored)) for _ in range(6)]

    assert {tuple(codes(view)) for view in views} == {("bhxh.record_invalid",)}


@pytest.mark.parametrize("typed", ["\u200b", "\ufeff\u00ad", "Nguyễn Văn An."])
def test_a_typed_name_of_nothing_visible_or_a_dot_is_invalid(typed: str) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, CITIZEN, full_name=typed)

    assert codes(view) == ["full_name.invalid"]


# --- phones -------------------------------------------------------------------------------

#: CITIZEN's phone, +84912345678, as citizens type it and as agencies store it.
PHONE_SPELLINGS = [
    "0912345678",
    "0912 345 678",
    "0912.345.678",
    "091-234-5678",
    "+84912345678",
    "84912345678",
    "+84 (0) 912 345 678",
    "(+84) 912345678",
    "0084 912 345 678",
]


@pytest.mark.parametrize("stored", PHONE_SPELLINGS)
@pytest.mark.parametrize("typed", ["0912345678", "+84 912 345 678", "(+84) 912345678"])
def test_a_phone_in_any_spelling_on_either_side_matches(stored: str, typed: str) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, record_of(phone=stored), phone=typed)

    assert view.state is State.OTP_PENDING, codes(view)
    assert ports.sms.sent[-1].phone == "+84912345678"


#: The 21 prefixes of the 2018 conversion of 11-digit mobile numbers: (old, new).
CONVERTED_PREFIXES = [
    *((f"016{d}", f"03{d}") for d in "23456789"),  # Viettel
    ("0120", "070"), ("0121", "079"), ("0122", "077"), ("0126", "076"), ("0128", "078"),
    ("0123", "083"), ("0124", "084"), ("0125", "085"), ("0127", "081"), ("0129", "082"),
    ("0186", "056"), ("0188", "058"),  # Vietnamobile
    ("0199", "059"),  # Gmobile
]  # fmt: skip


@pytest.mark.parametrize(("old", "new"), CONVERTED_PREFIXES)
def test_a_record_with_a_pre_2018_number_matches_the_new_number_and_texts_it(
    old: str, new: str
) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, record_of(phone=f"{old} 234 5678"), phone=f"{new}2345678")

    assert view.state is State.OTP_PENDING, codes(view)
    assert ports.sms.sent[-1].phone == f"+84{new[1:]}2345678"


@pytest.mark.parametrize(("old", "new"), CONVERTED_PREFIXES)
def test_a_citizen_typing_the_old_number_matches_a_record_with_the_new_one(
    old: str, new: str
) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, record_of(phone=f"{new}.234.5678"), phone=f"(+84) {old[1:]}2345678")

    assert view.state is State.OTP_PENDING, codes(view)
    assert ports.sms.sent[-1].phone == f"+84{new[1:]}2345678"


@pytest.mark.parametrize("typed", ["01302345678", "01112345678", "0162234567", "016223456789"])
def test_an_11_digit_number_of_no_converted_prefix_is_still_no_mobile(typed: str) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, CITIZEN, phone=typed)

    assert codes(view) == ["phone.invalid"]


@pytest.mark.parametrize("phone", ["024 3825 1234", "1900 1234", "0912 345", "+1 650 253 0000"])
def test_a_record_phone_that_is_no_vietnamese_mobile_is_bhxh_s_error(phone: str) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, record_of(phone=phone))

    assert codes(view) == ["bhxh.record_invalid"]


# --- ID numbers ---------------------------------------------------------------------------

#: CCCDs of Hà Nội (001) for men and women of both centuries, and the date each fits.
CCCDS = [
    ("001085012345", date(1985, 3, 9)),  # a man born in the 1900s
    ("001185012345", date(1985, 3, 9)),  # a woman born in the 1900s
    ("079200012345", date(2000, 1, 1)),  # a man of Hồ Chí Minh City born in 2000
    ("079305012345", date(2005, 12, 31)),  # a woman born in 2005
    ("001 085 012 345", date(1985, 3, 9)),
    ("001.085.012.345", date(1985, 3, 9)),
]


@pytest.mark.parametrize(("cccd", "born"), CCCDS)
def test_a_cccd_that_fits_the_date_of_birth_registers(cccd: str, born: date) -> None:
    ports = FakePorts.seeded()

    view = register(ports, record_of(id_number=cccd, date_of_birth=born))

    assert view.state is State.COMPLETED, codes(view)


@pytest.mark.parametrize("cmnd", ["012345678", "012 345 678", "012.345.678", "285123456"])
def test_a_9_digit_cmnd_with_its_leading_zero_registers(cmnd: str) -> None:
    ports = FakePorts.seeded()

    view = register(ports, record_of(id_number=cmnd))

    assert view.state is State.COMPLETED, codes(view)
    (account,) = ports.users.accounts.values()
    assert account.id_number == "".join(c for c in cmnd if c.isdigit())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # the first record knew both numbers, the second only the CMND
        (
            {"id_number": "001090012345", "former_id_numbers": ("012345678",)},
            {"id_number": "012.345.678"},
        ),
        # the first knew only the CMND, the second has the CCCD and the CMND as former
        ({"id_number": "012345678"}, {"former_id_numbers": ("012 345 678",)}),
        # the first knew only the CCCD, the second still has the CMND as current
        ({}, {"id_number": "012345678", "former_id_numbers": ("001 090 012 345",)}),
    ],
)
def test_a_citizen_known_by_a_cmnd_and_a_cccd_cannot_open_a_second_account(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    """The second account is tried under another BHXH number, as a second BHXH record of the
    same person (common after a move between provinces) would have it. One of the two
    records must link the numbers: a CMND and a CCCD that no record links are, for the
    library, two people (the CCCD's serial is not derived from the CMND)."""
    ports = FakePorts.seeded()
    assert register(ports, record_of(**first)).state is State.COMPLETED

    again = record_of(bhxh_number="0987654321", **second)
    view = register(ports, again)

    assert codes(view) == ["account.exists"]
    assert len(ports.users.accounts) == 1


@pytest.mark.parametrize(
    "cccd",
    [
        "000090012345",  # no province 000
        "097090012345",  # no province 097
        "001290012345",  # 2000s century digit, born 1990
        "001091012345",  # year digits 91, born 1990
        "0010900123",  # ten digits
    ],
)
def test_a_cccd_that_contradicts_the_record_is_bhxh_s_error_not_a_mismatch(cccd: str) -> None:
    ports = FakePorts.seeded()

    views = [submit(ports, record_of(id_number=cccd)) for _ in range(6)]

    assert {tuple(codes(view)) for view in views} == {("bhxh.record_invalid",)}
    assert all(view.state is State.FILLING_FORM for view in views)


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["17/05/1990", "17/5/1990", "1990-05-17", "17-05-1990", " 17/05/1990 "]
)
def test_every_accepted_spelling_of_the_date_matches(typed: str) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, CITIZEN, date_of_birth=typed)

    assert view.state is State.OTP_PENDING, codes(view)


@pytest.mark.parametrize("typed", ["1990", "05/1990", "00/00/1990", "17.05.1990", "1990/05/17"])
def test_a_date_that_is_not_a_whole_date_is_the_form_s_error(typed: str) -> None:
    ports = FakePorts.seeded()

    view = submit(ports, CITIZEN, date_of_birth=typed)

    assert codes(view) == ["date_of_birth.invalid"]


@pytest.mark.parametrize("born", [date(1900, 1, 1), date(2025, 12, 31)])
def test_a_record_born_at_the_bounds_registers(born: date) -> None:
    """1900-01-01 is the earliest accepted date; the fake clock's Vietnamese date is
    2026-01-01, so a child born the day before registers."""
    ports = FakePorts.seeded()

    view = register(ports, record_of(date_of_birth=born, id_number="012345678"))

    assert view.state is State.COMPLETED, codes(view)


#: The year-only dates older BHXH and civil records hold, as text a registry passes on.
YEAR_ONLY = ["1960", "00/00/1960", "0/0/1960", "1960-00-00", "01/00/1960", "03/1960", "1960-03"]


@pytest.mark.parametrize("stored", YEAR_ONLY)
def test_a_record_born_in_a_year_only_is_bhxh_s_error_never_a_mismatch(stored: str) -> None:
    """Decided: a record error for operators (BHXH completes the record), not a comparison of
    years: that would let any date of the year through for these records alone, and the
    citizen has no day to type that the record could confirm."""
    ports = FakePorts.seeded()

    views = [
        submit(ports, record_of(date_of_birth=stored), date_of_birth="01/01/1960") for _ in range(6)
    ]

    assert {tuple(codes(view)) for view in views} == {("bhxh.record_invalid",)}
    with pytest.raises(RecordValueError) as caught:
        normalise_record(record_of(date_of_birth=stored), CITIZEN.bhxh_number)
    assert (caught.value.field, caught.value.reason) == ("date_of_birth", "incomplete_date")


@pytest.mark.parametrize(
    ("stored", "born"),
    [("1990-05-17", date(1990, 5, 17)), ("17/05/1990", date(1990, 5, 17))],
)
def test_a_record_date_as_text_is_read_as_the_form_reads_it(stored: str, born: date) -> None:
    record = normalise_record(record_of(date_of_birth=stored), CITIZEN.bhxh_number)

    assert record.date_of_birth == born


def http_registry(date_of_birth: str) -> HttpBhxhRegistry:
    """The HTTP adapter over a BHXH service that answers CITIZEN with this date text."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == LOOKUP_PATH
        return httpx.Response(
            200,
            json={
                "bhxh_number": CITIZEN.bhxh_number,
                "full_name": "NGUYỄN VĂN AN",
                "date_of_birth": date_of_birth,
                "phone": "0912 345 678",
                "id_number": "001 090 012 345",
                "former_id_numbers": ["012.345.678"],
            },
        )

    return HttpBhxhRegistry(
        HttpSettings(base_url="http://bhxh.test"), transport=httpx.MockTransport(answer)
    )


def test_an_http_record_as_agencies_write_it_gets_the_code() -> None:
    ports = FakePorts.seeded()
    ports.bhxh = http_registry("1990-05-17")  # type: ignore[assignment]
    engine = ports.engine()

    view = engine.send(at_form(engine).flow_id, form_for())

    assert view.state is State.OTP_PENDING, codes(view)


@pytest.mark.parametrize("stored", [*YEAR_ONLY, "17 May 1990", "1990-13-01"])
def test_an_http_record_without_a_whole_date_is_bhxh_s_error_not_an_outage(stored: str) -> None:
    ports = FakePorts.seeded()
    ports.bhxh = http_registry(stored)  # type: ignore[assignment]
    engine = ports.engine()

    view = engine.send(at_form(engine).flow_id, form_for())

    assert codes(view) == ["bhxh.record_invalid"]
    assert view.state is State.FILLING_FORM


# --- passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["Mậtkhẩu@2024", "ĐăngKý#123", "Ước mơ 2024!", "ĂnQuảNgọt9?"])
def test_a_vietnamese_password_is_set_and_verifies(password: str) -> None:
    ports = FakePorts.seeded()

    view = register(ports, CITIZEN, password)

    assert view.state is State.COMPLETED, codes(view)
    (stored,) = ports.users.password_hashes.values()
    assert ports.hasher.verify(stored, normalise_password(nfd(password)))


def test_a_decomposed_password_and_its_precomposed_confirmation_are_one_password() -> None:
    ports = FakePorts.seeded()
    ports.bhxh.add(CITIZEN)
    engine = ports.engine()
    view = engine.send(at_form(engine).flow_id, form_for())
    view = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code()))

    view = engine.send(view.flow_id, SetPassword(nfd("ĐăngKý#123"), "ĐăngKý#123"))

    assert view.state is State.COMPLETED, codes(view)
    assert normalise_password(nfd("Mậtkhẩu@2024")) == "Mậtkhẩu@2024"
    assert normalise_password("Mật\u00a0khẩu 1A!") == "Mật khẩu 1A!"


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("mậtkhẩu@2024", "password.no_uppercase"),
        ("ĐĂNGKÝ#123", "password.no_lowercase"),
        ("ĐăngKý#MộtHai", "password.no_digit"),
        ("ĐăngKý123", "password.no_special"),
    ],
)
def test_vietnamese_letters_count_as_letters_of_their_case(password: str, missing: str) -> None:
    ports = FakePorts.seeded()
    ports.bhxh.add(CITIZEN)
    engine = ports.engine()
    view = engine.send(at_form(engine).flow_id, form_for())
    view = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code()))

    view = engine.send(view.flow_id, SetPassword(password, password))

    assert codes(view) == [missing]
