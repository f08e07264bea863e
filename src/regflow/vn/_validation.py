"""The seed's input rules: the BHXH form's fields, names as BHXH compares them, passwords
as the hasher receives them (the password rules are `regflow._passwords`).

Pure functions: each returns the parsed value or the errors, and never raises on bad input,
whatever type or size it has.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final

import phonenumbers

from regflow._domain import RegistrationForm
from regflow._errors import FlowError, flow_error
from regflow._ui import MAX_INPUT_LENGTH
from regflow.vn._provinces import PROVINCE_CODES
from regflow.vn._tone_marks import words_with_tone_marks_placed

if TYPE_CHECKING:
    from collections.abc import Callable

    from regflow._domain import SubmitForm

MAX_NAME_LENGTH = 100
#: The earliest date of birth accepted, itself included (the catalogue's message names it).
EARLIEST_BIRTH = date(1900, 1, 1)
#: Vietnam's time (UTC+7 all year, no summer time): the calendar a date of birth is written in.
VIETNAM = timezone(timedelta(hours=7), "ICT")
_MAX_FIELD_LENGTH = MAX_INPUT_LENGTH  # longer than any valid value of any field
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y")
#: What strptime's ``%d/%m/%Y`` takes in ASCII digits.
_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}")
_DOMAIN_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


#: Characters that phones and old encodings put for the ASCII ones of a Vietnamese name:
#: the typographic apostrophes iOS and macOS type for ' ("H’Hen Niê"), the modifier
#: apostrophe, the Unicode hyphens and the en dash for - ("Y‐Moan"), and the Icelandic eth
#: that a record converted from a Windows code page holds for Đ ("ÐỖ"). And the invisible
#: characters a name pasted from a document or a spreadsheet export carries: the
#: zero-width space is a space; the soft hyphen, the zero-width joiners, the direction
#: marks, the word joiner and the byte-order mark are nothing.
_LOOK_ALIKES: Final = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'",
    "\u2010": "-", "\u2011": "-", "\u2013": "-",
    "\u00d0": "\u0110", "\u00f0": "\u0111",
    "\u200b": " ",
    **dict.fromkeys("\u00ad\u200c\u200d\u200e\u200f\u2060\ufeff"),
})  # fmt: skip
#: Whether a name holds any of them: a search costs a tenth of a translation, and most
#: names hold none.
_HAS_LOOK_ALIKE: Final = re.compile("[" + "".join(map(chr, _LOOK_ALIKES)) + "]").search


def _without_look_alikes(name: str) -> str:
    return name.translate(_LOOK_ALIKES) if _HAS_LOOK_ALIKE(name) else name


def normalise_name(name: str) -> str:
    """Fold a name the way the comparison with BHXH needs: equal results, same name.

    NFC so decomposed and precomposed Vietnamese compare equal, look-alike apostrophes,
    hyphens and Đ as the letters of the alphabet (`tidy_name`), case-folded, tone marks
    placed by one rule (`place_tone_marks`) so "Thủy" and "Thuỷ" compare equal, white space
    collapsed. Letters and diacritics are kept, since "An" and "Ân" are different names.
    """
    if name.isascii():
        return words_with_tone_marks_placed(name.casefold())
    folded = _without_look_alikes(unicodedata.normalize("NFC", name)).casefold()
    return words_with_tone_marks_placed(folded)


def tidy_name(name: str) -> str:
    """A name as it is kept: NFC, single spaces, none at either end, the look-alikes of
    ' - Đ as those letters (what is compared is `normalise_name`'s fold of it)."""
    if name.isascii():
        return " ".join(name.split())
    return " ".join(_without_look_alikes(unicodedata.normalize("NFC", name)).split())


def _text(value: object) -> str | None:
    """The stripped text of a field, or None when the field is missing or not text."""
    if not isinstance(value, str):
        return None
    return value.strip()


def _bhxh_number(value: object) -> str | FlowError:
    text = _text(value)
    if not text:
        return flow_error("bhxh_number.required", field="bhxh_number")
    digits = text.replace(" ", "")
    if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
        return flow_error("bhxh_number.invalid", field="bhxh_number")
    return digits


_CMND_LENGTH: Final = 9
_CCCD_LENGTH: Final = 12
_MAX_ID_NUMBER_LENGTH: Final = 64  # longer than any number typed with spaces: stop work on junk


def id_number_digits(typed: str) -> str:
    """A CMND/CCCD number as stores keep it: NFKC (full-width digits), without spaces."""
    return "".join(unicodedata.normalize("NFKC", typed).split())


def id_number_problem(typed: object) -> str | None:
    """Why `typed` is no CMND/CCCD number ("required" or "invalid"), or None when it is one.

    A CMND has 9 digits, a CCCD 12 whose first three are a province's code (Circular
    07/2016/TT-BCA); full-width digits and spaces typed between groups are accepted.
    """
    if not isinstance(typed, str) or len(typed) > _MAX_ID_NUMBER_LENGTH:
        return "invalid"
    digits = id_number_digits(typed)
    if not digits:
        return "required"
    if not (digits.isascii() and digits.isdigit()):
        return "invalid"
    if len(digits) == _CCCD_LENGTH:
        return None if digits[:3] in PROVINCE_CODES else "invalid"
    return None if len(digits) == _CMND_LENGTH else "invalid"


def _id_number(value: object) -> str | FlowError | None:
    """The form's CMND/CCCD number, or None when none was typed (a version of the
    registration that asks for it says so: `id_form_invalid`)."""
    if value is None:
        return None
    problem = id_number_problem(value)
    if problem == "required":
        return None
    if problem is not None:
        return flow_error("id_number.invalid", field="id_number")
    assert isinstance(value, str)  # noqa: S101 - id_number_problem accepts only text
    return id_number_digits(value)


def _is_name_character(char: str) -> bool:
    return char in " '-" or unicodedata.category(char)[0] in "LM"


def is_name(name: str) -> bool:
    """Whether a tidied name holds only what the form takes: letters with their marks,
    spaces, apostrophes, hyphens, at most `MAX_NAME_LENGTH` characters."""
    if len(name) > MAX_NAME_LENGTH:
        return False
    # Most names are letters and spaces only: str.isalpha says so without a loop.
    letters = name.replace(" ", "")
    return letters.isalpha() or (bool(letters) and all(map(_is_name_character, letters)))


def _full_name(value: object) -> str | FlowError:
    text = _text(value)
    if not text:
        return flow_error("full_name.required", field="full_name")
    if len(text) > _MAX_FIELD_LENGTH:
        return flow_error("full_name.invalid", field="full_name")
    name = tidy_name(text)
    if not is_name(name):
        return flow_error("full_name.invalid", field="full_name")
    return name


def parse_date(text: str) -> date | None:
    """A date in one of the form's spellings (dd/mm/yyyy, d/m/yyyy, yyyy-mm-dd,
    dd-mm-yyyy), or None."""
    day_month_year = _DAY_MONTH_YEAR.fullmatch(text)
    if day_month_year is not None:  # the portal's format, without strptime's cost
        day, month, year = map(int, day_month_year.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


def today_in_vietnam(now: datetime) -> date:
    """The date in Vietnam at `now`: from 00:00 to 07:00 there, UTC is still on yesterday,
    and a child born this morning would otherwise be refused as born in the future."""
    return now.astimezone(VIETNAM).date()


def _date_of_birth(value: object, today: date) -> date | FlowError:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        born: date | None = value
    else:
        text = _text(value)
        if not text:
            return flow_error("date_of_birth.required", field="date_of_birth")
        born = parse_date(text) if len(text) <= _MAX_FIELD_LENGTH else None
    if born is None:
        return flow_error("date_of_birth.invalid", field="date_of_birth")
    if not EARLIEST_BIRTH <= born <= today:
        return flow_error("date_of_birth.out_of_range", field="date_of_birth")
    return born


def normalise_phone(value: str) -> str | None:
    """Return a Vietnamese mobile number in E.164 form, or None if it is not one.

    The shapes citizens type (``0912 345 678``, ``+84912345678``) are checked against
    phonenumbers' own Vietnamese patterns, compiled once; any other shape goes through
    phonenumbers' full parser. Both give the same answer; the first costs a regex match.
    A pre-2018 11-digit mobile number (``0166 234 5678``) is given as the number it became
    (``+84362345678``): records and citizens still write the old ones.
    """
    plain = _PLAIN_PHONE.fullmatch(value.translate(_PHONE_SEPARATORS))
    if plain is None:
        return _parse_phone(value)
    return _mobile(plain.group(1))


def _parse_phone(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code == _VIETNAM_CODE:
        number.national_number = int(_current_number(str(number.national_number)))
    # A mobile number type implies a valid number (phonenumbers' own definition of valid),
    # so `is_valid_number` would only repeat the costliest part of this check.
    if (
        phonenumbers.region_code_for_number(number) != "VN"
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=4096)
def _mobile(national: str) -> str | None:
    """The E.164 form of a Vietnamese national number if it is a mobile's, now or before 2018.

    Kept for the last numbers asked: a registration asks it of the phone typed and of the
    phone on the BHXH record, which are the same number when the citizen is who they say."""
    national = _current_number(national)
    return f"+84{national}" if _is_vietnamese_mobile(national) else None


def _current_number(national: str) -> str:
    """A pre-2018 mobile number as it is now (``0166 234 5678`` → ``036 234 5678``); any
    other number as it is. Cheap: most numbers fail the length test."""
    if len(national) == _OLD_MOBILE_LENGTH:
        code = CONVERTED_CODES.get(national[:3])
        if code is not None:
            return code + national[3:]
    return national


_MOBILE_TYPES: Final = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
_VIETNAM_CODE: Final = 84
#: The national part of an 11-digit mobile number (``0`` + 10 digits).
_OLD_MOBILE_LENGTH: Final = 10
#: The conversion of every 11-digit mobile number to 10 digits (15 September 2018 to
#: 30 June 2019), the Ministry of Information and Communications' plan for its national
#: numbering plan (Circular 22/2014/TT-BTTTT): the old three-digit network code after the
#: trunk ``0``, and the two-digit code that replaced it; the seven subscriber digits stayed.
#: The 21 codes as the Ministry announced them (reported by SGGP News, "Mobile phone numbers
#: conversion to affect 60 million subscribers nationwide", 2018): Viettel 0162–0169 →
#: 032–039; MobiFone 0120 → 070, 0121 → 079, 0122 → 077, 0126 → 076, 0128 → 078; VinaPhone
#: 0123 → 083, 0124 → 084, 0125 → 085, 0127 → 081, 0129 → 082; Vietnamobile 0186 → 056,
#: 0188 → 058; Gmobile 0199 → 059. phonenumbers knows only the new numbers. Records from
#: before then still hold old ones, and only the new ones receive texts, so both sides of
#: the comparison are in the new numbers.
CONVERTED_CODES: Final = {
    **{f"16{digit}": f"3{digit}" for digit in "23456789"},
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    "186": "56", "188": "58",
    "199": "59",
}  # fmt: skip
#: ``0`` or ``+84``, then the national number: what `_is_vietnamese_mobile` judges alone.
_PLAIN_PHONE: Final = re.compile(r"(?:\+84|0)([1-9][0-9]{6,10})")
_PHONE_SEPARATORS: Final = str.maketrans("", "", " .-")


def _matches(desc: phonenumbers.PhoneNumberDesc | None) -> Callable[[str], bool]:
    """phonenumbers' test of a national number against one kind of number (its lengths
    first, then its pattern), compiled once."""
    if desc is None or desc.national_number_pattern is None:
        return lambda _: False
    lengths = frozenset(desc.possible_length)
    pattern = re.compile(desc.national_number_pattern)
    return lambda national: (
        (not lengths or len(national) in lengths) and bool(pattern.fullmatch(national))
    )


def _mobile_rule() -> Callable[[str], bool]:
    """The order of phonenumbers' `number_type` for Vietnam, reduced to "is it mobile"."""
    region = phonenumbers.PhoneMetadata.metadata_for_region("VN")
    assert region is not None  # noqa: S101 - phonenumbers always ships Vietnam
    general = _matches(region.general_desc)
    other_kinds = [
        _matches(desc)
        for desc in (
            region.premium_rate,
            region.toll_free,
            region.shared_cost,
            region.voip,
            region.personal_number,
            region.pager,
            region.uan,
            region.voicemail,
        )
        if desc is not None
    ]
    mobile = _matches(
        region.fixed_line if region.same_mobile_and_fixed_line_pattern else region.mobile
    )

    def is_mobile(national: str) -> bool:
        if not (general(national) and mobile(national)):
            return False
        for kind in other_kinds:  # noqa: SIM110 - a loop: no generator frame per number
            if kind(national):
                return False
        return True

    return is_mobile


_is_vietnamese_mobile: Final = _mobile_rule()


def _phone(value: object) -> str | FlowError:
    text = _text(value)
    if not text:
        return flow_error("phone.required", field="phone")
    phone = normalise_phone(text) if len(text) <= _MAX_FIELD_LENGTH else None
    return phone or flow_error("phone.invalid", field="phone")


def _is_email(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    if not at or len(text) > 254 or not _EMAIL_LOCAL.fullmatch(local) or ".." in local:
        return False
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_domain.split(".")
    return (
        len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _email(value: object) -> str | FlowError | None:
    if value is None:
        return None
    text = _text(value)
    if text is None:
        return flow_error("email.invalid", field="email")
    if not text:
        return None
    if not _is_email(text):
        return flow_error("email.invalid", field="email")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_form(event: SubmitForm, today: date) -> RegistrationForm | tuple[FlowError, ...]:
    """Validate every field of the BHXH form; all field errors come back at once."""
    bhxh_number = _bhxh_number(event.bhxh_number)
    full_name = _full_name(event.full_name)
    born = _date_of_birth(event.date_of_birth, today)
    phone = _phone(event.phone)
    email = _email(event.email)
    id_number = _id_number(event.id_number)
    if (
        isinstance(bhxh_number, FlowError)
        or isinstance(full_name, FlowError)
        or isinstance(born, FlowError)
        or isinstance(phone, FlowError)
        or isinstance(email, FlowError)
        or isinstance(id_number, FlowError)
    ):
        fields = (bhxh_number, full_name, born, phone, email, id_number)
        return tuple(value for value in fields if isinstance(value, FlowError))
    return RegistrationForm(
        bhxh_number=bhxh_number,
        full_name=full_name,
        date_of_birth=born,
        phone=phone,
        email=email,
        id_number=id_number,
    )


#: Every space but U+0020 (no-break, ideographic, thin ...): Unicode's category Zs.
_SPACES: Final = str.maketrans(
    dict.fromkeys(
        "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u202f\u205f\u3000",
        " ",
    )
)


def normalise_password(password: str) -> str:
    """The password as the rule checks it and the hasher receives it; apply it at login too.

    RFC 8265's OpaqueString preparation: NFC, so a decomposed "Mật khẩu" (from some input
    methods) and a precomposed one are the same password, and every space character is
    U+0020. Nothing else changes: no trimming, no case folding.
    """
    if password.isascii():
        return password
    return unicodedata.normalize("NFC", password).translate(_SPACES)
