"""BHXH records as agencies store them: normalised at the port, or reported as BHXH's error.

The citizen types the clean values of `form_for()`; the record holds the same values the way
an agency's staff wrote them. Either they are the same citizen (and the flow goes on), or the
record cannot be read, which is BHXH's error, never the citizen's mismatch.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

import attrs
import pytest
from structlog.testing import capture_logs

from regflow import (
    BhxhRecord,
    ConfirmOtp,
    Engine,
    FlowView,
    RecordValueError,
    SetPassword,
    State,
    normalise_record,
)
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import STRONG_PASSWORD, at_form

#: The 63 province codes of Circular 07/2016/TT-BCA, Appendix I (001 Hà Nội … 096 Cà Mau).
PROVINCES = [
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020",
    "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038",
    "040", "042", "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060",
    "062", "064", "066", "067", "068", "070", "072", "074", "075", "077", "079", "080", "082",
    "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
]  # fmt: skip
#: A CMND of Hà Nội (9 digits), the number CITIZEN's documents carried before the CCCD.
CMND = "012345678"


def as_stored(**values: Any) -> BhxhRecord:
    """CITIZEN's record with some values as an agency stored them."""
    return attrs.evolve(CITIZEN, **values)


def register(ports: FakePorts, record: BhxhRecord) -> FlowView:
    """Put `record` in BHXH under its citizen's number and register with the clean form."""
    ports.bhxh.records[CITIZEN.bhxh_number] = record
    engine = ports.engine()
    return engine.send(at_form(engine).flow_id, form_for())


def complete(engine: Engine, ports: FakePorts, record: BhxhRecord) -> FlowView:
    """Register `record`'s citizen to the end, typing the record's values as a citizen would."""
    ports.bhxh.add(record)
    view = engine.send(at_form(engine).flow_id, form_for(record))
    if view.state is not State.OTP_PENDING:
        return view
    view = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code()))
    return engine.send(view.flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))


# --- values as agencies store them -----------------------------------------------------------

NATIONAL_PHONES = ["0912345678", "0912 345 678", "0912.345.678", "091-234-5678", "+84 912 345 678"]


@pytest.mark.parametrize("phone", NATIONAL_PHONES)
def test_a_record_s_phone_in_any_national_shape_matches_and_gets_the_code(
    ports: FakePorts, phone: str
) -> None:
    view = register(ports, as_stored(phone=phone))

    assert view.state is State.OTP_PENDING, view.errors
    assert ports.sms.sent[-1].phone == "+84912345678"


NAMES = [
    "  Nguyễn   Văn  An ",
    unicodedata.normalize("NFD", "Nguyễn Văn An"),
    "Nguyễn\u00a0Văn\tAn",
]


@pytest.mark.parametrize("name", NAMES, ids=["spaces", "decomposed", "nbsp-and-tab"])
def test_a_record_s_name_is_kept_in_nfc_with_single_spaces(ports: FakePorts, name: str) -> None:
    view = complete(ports.engine(), ports, as_stored(full_name=name))

    assert view.account is not None, view.errors
    assert view.account.full_name == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", view.account.full_name)


@pytest.mark.parametrize("number", ["001 090 012 345", "001.090.012.345", "001-090-012345"])
def test_a_record_s_id_number_is_kept_as_bare_digits(ports: FakePorts, number: str) -> None:
    view = complete(ports.engine(), ports, as_stored(id_number=number))

    assert view.account is not None, view.errors
    assert view.account.id_number == CITIZEN.id_number


def test_former_numbers_lose_separators_duplicates_and_the_current_number() -> None:
    record = as_stored(former_id_numbers=("012 345 678", CITIZEN.id_number, "012.345.678"))

    assert normalise_record(record, CITIZEN.bhxh_number).former_id_numbers == (CMND,)


def test_a_clean_record_is_returned_as_it_is() -> None:
    assert normalise_record(CITIZEN, CITIZEN.bhxh_number) == CITIZEN


# --- values that cannot be normalised: BHXH's error ------------------------------------------

INVALID = {
    "landline": ({"phone": "024 3825 1234"}, "phone"),
    "no-phone": ({"phone": ""}, "phone"),
    "blank-name": ({"full_name": " \u00a0 "}, "full_name"),
    "short-id": ({"id_number": "12345"}, "id_number"),
    "ten-digit-id": ({"id_number": "0010900123"}, "id_number"),
    "letter-in-id": ({"id_number": "00109001234A"}, "id_number"),
    "arabic-indic-digits": ({"id_number": "٠٠١٠٩٠٠١٢٣٤٥"}, "id_number"),
    "no-province-003": ({"id_number": "003090012345"}, "id_number"),
    "no-province-097": ({"id_number": "097090012345"}, "id_number"),
    "century-of-2000s": ({"id_number": "001290012345"}, "id_number"),
    "year-1991": ({"id_number": "001091012345"}, "id_number"),
    "former-too-short": ({"former_id_numbers": ("12345",)}, "former_id_numbers"),
    "former-other-year": ({"former_id_numbers": ("079185000111",)}, "former_id_numbers"),
    "other-bhxh-number": ({"bhxh_number": "0123456780"}, "bhxh_number"),
    "year-only-date": ({"date_of_birth": "00/00/1990"}, "date_of_birth"),
    "text-no-date": ({"date_of_birth": "17 May 1990"}, "date_of_birth"),
    "date-not-a-date": ({"date_of_birth": 19900517}, "date_of_birth"),
    "id-not-text": ({"id_number": 1090012345}, "id_number"),
}


def personal(values: dict[str, Any]) -> list[str]:
    """The non-blank texts among a record's `values`, a tuple's items one by one."""
    texts = [str(item) for value in values.values() for item in _items(value)]
    return [text.strip() for text in texts if text.strip()]


def _items(value: object) -> tuple[object, ...]:
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize(("values", "field"), INVALID.values(), ids=INVALID.keys())
def test_a_record_value_that_cannot_be_normalised_is_bhxh_s_error(
    ports: FakePorts, values: dict[str, Any], field: str
) -> None:
    engine = ports.engine()
    form = at_form(engine)
    ports.bhxh.records[CITIZEN.bhxh_number] = as_stored(**values)

    with capture_logs() as logs:
        view = engine.send(form.flow_id, form_for())

    assert view.error_codes() == ("bhxh.record_invalid",)
    assert view.errors[0].retryable
    assert (view.state, view.version) == (State.FILLING_FORM, form.version)
    assert ports.sms.sent == []
    [logged] = [entry for entry in logs if entry["event"] == "bhxh.record_invalid"]
    assert (logged["log_level"], logged["field"], logged["port"]) == ("warning", field, "bhxh")
    for value in personal(values):  # the field is named, its value (personal data) is not
        assert value not in str(logs)


def test_a_record_error_is_no_mismatch_and_the_fixed_record_registers(ports: FakePorts) -> None:
    engine = ports.engine()
    flow_id = at_form(engine).flow_id
    ports.bhxh.records[CITIZEN.bhxh_number] = as_stored(phone="024 3825 1234")
    for _ in range(engine.policy.max_mismatches):
        engine.send(flow_id, form_for())

    ports.bhxh.add(CITIZEN)  # BHXH corrects the record
    view = engine.send(flow_id, form_for())

    assert view.state is State.OTP_PENDING, view.errors
    stored = ports.flows.load(flow_id)
    assert stored is not None
    assert stored.context.mismatches == 0


def test_a_registry_that_returns_no_record_object_is_bhxh_s_error(ports: FakePorts) -> None:
    not_a_record: Any = {"phone": "0912345678"}

    view = register(ports, not_a_record)

    assert view.error_codes() == ("bhxh.record_invalid",)


# --- the structure of a CCCD number (Circular 07/2016/TT-BCA) ---------------------------------


def cccd(province: str, century: int, year: int) -> str:
    return f"{province}{century}{year % 100:02d}012345"


def accepts(number: str, born: date) -> bool:
    record = as_stored(id_number=number, date_of_birth=born)
    try:
        normalise_record(record, CITIZEN.bhxh_number)
    except RecordValueError:
        return False
    return True


def test_exactly_the_63_province_codes_open_a_cccd() -> None:
    born = date(1990, 5, 17)
    codes = [f"{code:03d}" for code in range(1000)]

    accepted = [code for code in codes if accepts(cccd(code, 0, 1990), born)]

    assert accepted == PROVINCES
    assert len(accepted) == 63


@pytest.mark.parametrize("year", [1900, 1945, 1999, 2000, 2007, 2099, 2100, 2199])
def test_the_century_digit_says_the_century_of_birth_for_either_sex(year: int) -> None:
    born = date(year, 1, 1)
    right = {2 * ((year - 1900) // 100), 2 * ((year - 1900) // 100) + 1}  # male, female

    accepted = {digit for digit in range(10) if accepts(cccd("079", digit, year), born)}

    assert accepted == right


def test_the_two_year_digits_are_the_year_of_birth() -> None:
    born = date(1985, 12, 2)

    accepted = [year for year in range(100) if accepts(f"0791{year:02d}000111", born)]

    assert accepted == [85]


def test_a_cmnd_has_no_structure_to_check() -> None:
    assert accepts(CMND, date(1990, 5, 17))
    assert accepts("290000001", date(2020, 1, 1))


def test_the_record_error_says_which_part_of_the_cccd_is_wrong() -> None:
    reasons = {}
    for name, number in [("province", "003090012345"), ("century", "001290012345")]:
        with pytest.raises(RecordValueError) as raised:
            normalise_record(as_stored(id_number=number), CITIZEN.bhxh_number)
        reasons[name] = (raised.value.field, raised.value.reason)

    assert reasons == {
        "province": ("id_number", "unknown_province"),
        "century": ("id_number", "century_not_the_birth_year"),
    }


# --- old and new ID numbers are the same citizen ----------------------------------------------

#: The same citizen as BHXH holds them under two BHXH numbers (a re-issued number): one record
#: from before the CCCD, one from after, one naming only the CCCD.
WITH_CMND = as_stored(bhxh_number="0123456700", id_number="012 345 678")
WITH_CCCD_AND_CMND = as_stored(former_id_numbers=(CMND,))
WITH_CCCD = as_stored(bhxh_number="0123456711")

PAIRS = {
    "cmnd-then-cccd-naming-it": (WITH_CMND, WITH_CCCD_AND_CMND),
    "cccd-naming-cmnd-then-cmnd": (WITH_CCCD_AND_CMND, WITH_CMND),
    "cccd-naming-cmnd-then-cccd": (WITH_CCCD_AND_CMND, WITH_CCCD),
}


@pytest.mark.parametrize(("first", "second"), PAIRS.values(), ids=PAIRS.keys())
def test_a_citizen_cannot_open_a_second_account_with_their_other_id_number(
    ports: FakePorts, first: BhxhRecord, second: BhxhRecord
) -> None:
    engine = ports.engine()
    assert complete(engine, ports, first).state is State.COMPLETED

    view = complete(engine, ports, second)

    assert view.state is State.ACCOUNT_EXISTS
    assert view.error_codes() == ("account.exists",)
    assert len(ports.users.accounts) == 1


def test_the_account_holds_every_number_of_the_record(ports: FakePorts) -> None:
    view = complete(ports.engine(), ports, WITH_CCCD_AND_CMND)

    assert view.account is not None
    assert view.account.id_numbers == (CITIZEN.id_number, CMND)


def test_another_citizen_with_other_numbers_registers(ports: FakePorts) -> None:
    engine = ports.engine()
    complete(engine, ports, WITH_CCCD_AND_CMND)
    other = BhxhRecord(
        bhxh_number="7901234567",
        full_name="Trần Thị Bích Ngọc",
        date_of_birth=date(1985, 12, 2),
        phone="0987 654 321",
        id_number="079185000111",
        former_id_numbers=("025 123 456",),
    )

    assert complete(engine, ports, other).state is State.COMPLETED


def test_a_record_dated_by_datetime_is_dated_by_its_day() -> None:
    record = as_stored(date_of_birth=datetime(1990, 5, 17, 0, 0))  # noqa: DTZ001 - as stored

    assert normalise_record(record, CITIZEN.bhxh_number).date_of_birth == date(1990, 5, 17)
