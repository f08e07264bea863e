"""BHXH records as the flow compares them: what a registry returns, normalised in one place.

Agencies store a record as their staff typed it: ``0912 345 678`` or ``0912.345.678`` for a
phone, a name with doubled spaces or in decomposed Unicode, an ID number with spaces or
dots, an old 9-digit CMND beside the 12-digit CCCD. `normalise_record` turns every such
shape into the one the form's values have (E.164, NFC with single spaces, bare digits), so
the comparison with what the citizen typed is a comparison of values, not of spellings.

A value that cannot be normalised, and a CCCD number whose structure contradicts the record
it is on, is an error in BHXH's data: `RecordValueError` names the field and the reason
(never the value), and the engine reports it as ``bhxh.record_invalid``, not as the
citizen's mismatch.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

from regflow._domain import BhxhRecord
from regflow.vn._provinces import PROVINCE_CODES
from regflow.vn._validation import is_name, normalise_phone, parse_date, tidy_name

#: What separates the digits of a number as agencies write it: ``001 090 012 345``,
#: ``001.090.012.345``, ``001-090-012345``.
_NUMBER_SEPARATORS: Final = str.maketrans("", "", " .-")
_CMND_LENGTH: Final = 9
_CCCD_LENGTH: Final = 12
_FIRST_CENTURY: Final = 1900
#: A date as ``[day/][month/]year`` (``00/00/1960``, ``03/1960``, ``1960``) or
#: ``year[-month[-day]]`` (``1960-00-00``): what `_is_incomplete` reads.
_DAY_MONTH_YEAR: Final = re.compile(r"(?:([0-9]{1,2})[/-])?(?:([0-9]{1,2})[/-])?([0-9]{4})")
_YEAR_MONTH_DAY: Final = re.compile(r"([0-9]{4})(?:-([0-9]{2}))?(?:-([0-9]{2}))?")
_LAST_DAY: Final = 31
_LAST_MONTH: Final = 12


class RecordValueError(ValueError):
    """A field of a BHXH record that cannot be normalised; no personal data in it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def normalise_record(record: object, bhxh_number: str) -> BhxhRecord:
    """The record a registry returned for `bhxh_number`, every value in the form's shape.

    Raise `RecordValueError` for a value that is not one (see the module's docstring).
    """
    if not isinstance(record, BhxhRecord):
        raise RecordValueError("record", "not_a_record")
    if _digits("bhxh_number", record.bhxh_number) != bhxh_number:
        raise RecordValueError("bhxh_number", "not_the_number_asked")
    born = _date_of_birth(record.date_of_birth)
    id_number = _id_number("id_number", record.id_number, born)
    former = {_id_number("former_id_numbers", n, born) for n in record.former_id_numbers}
    return BhxhRecord(
        bhxh_number=bhxh_number,
        full_name=_full_name(record.full_name),
        date_of_birth=born,
        phone=_phone(record.phone),
        id_number=id_number,
        former_id_numbers=tuple(former - {id_number}),
    )


def _digits(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise RecordValueError(field, "not_text")
    digits = "".join(value.split()).translate(_NUMBER_SEPARATORS)
    if not (digits.isascii() and digits.isdigit()):
        raise RecordValueError(field, "not_digits")
    return digits


def _full_name(value: object) -> str:
    if not isinstance(value, str):
        raise RecordValueError("full_name", "not_text")
    name = tidy_name(value)
    if not name:
        raise RecordValueError("full_name", "empty")
    if not is_name(name):  # digits, brackets, a dot: no citizen could type it on the form
        raise RecordValueError("full_name", "not_a_name")
    return name


def _date_of_birth(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return record_date(value)
    if not isinstance(value, date):
        raise RecordValueError("date_of_birth", "not_a_date")
    return value


def record_date(text: str) -> date:
    """A record's date of birth written as text, in any spelling the form takes
    (``17/05/1990``, ``1990-05-17`` ...), for registries that receive text (the HTTP one).

    Older records hold dates whose day or month is unknown: ``1960``, ``00/00/1960``,
    ``1960-00-00``, ``03/1960``. Such a record is BHXH's to complete (``incomplete_date``):
    a comparison of years alone would let any date of that year through, for these records
    only, and the citizen has no day to type that the record could confirm.
    """
    born = parse_date(text.strip())
    if born is not None:
        return born
    if _is_incomplete(text.strip()):
        raise RecordValueError("date_of_birth", "incomplete_date")
    raise RecordValueError("date_of_birth", "not_a_date")


def _is_incomplete(text: str) -> bool:
    """A year with its day or month 0 or left out, the rest in range."""
    day_month = _DAY_MONTH_YEAR.fullmatch(text)
    if day_month is not None:
        first, second, year = day_month.groups()
        day, month = (first, second) if second is not None else (None, first)
    else:
        iso = _YEAR_MONTH_DAY.fullmatch(text)
        if iso is None:
            return False
        year, month, day = iso.groups()
    days, months = int(day or 0), int(month or 0)
    return 0 in (days, months) and days <= _LAST_DAY and months <= _LAST_MONTH and int(year) > 0


def _phone(value: object) -> str:
    if not isinstance(value, str):
        raise RecordValueError("phone", "not_text")
    phone = normalise_phone(value)
    if phone is None:
        raise RecordValueError("phone", "not_a_vietnamese_mobile")
    return phone


def _id_number(field: str, value: object, born: date) -> str:
    """A CMND (9 digits) as it is; a CCCD (12 digits) whose structure fits the record."""
    number = _digits(field, value)
    if len(number) == _CCCD_LENGTH:
        _check_cccd(field, number, born)
    elif len(number) != _CMND_LENGTH:
        raise RecordValueError(field, "not_9_or_12_digits")
    return number


def _check_cccd(field: str, number: str, born: date) -> None:
    """The structure of Circular 07/2016/TT-BCA, Article 7: a province code (3 digits), a
    century-and-sex digit (0/1 for 1900–1999, 2/3 for 2000–2099, … male/female), the last
    two digits of the year of birth, then six serial digits."""
    if number[:3] not in PROVINCE_CODES:
        raise RecordValueError(field, "unknown_province")
    if int(number[3]) // 2 != (born.year - _FIRST_CENTURY) // 100:
        raise RecordValueError(field, "century_not_the_birth_year")
    if number[4:6] != f"{born.year % 100:02d}":
        raise RecordValueError(field, "year_not_the_birth_year")
