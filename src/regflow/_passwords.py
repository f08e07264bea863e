"""Password profiles: the rules a new password must follow, as data a host selects or extends.

Two ship. `PORTAL_PASSWORDS` is the seed's rule and the default: 8 to 128 characters with a
lower-case letter, a capital, a digit and a special character. `STANDARDS_PASSWORDS` follows
NIST SP 800-63B and OWASP ASVS 5.0: length alone (code points after NFC), no composition
rule, and refused instead are the passwords everybody tries first (a blocklist shipped as
data, `common_passwords.txt`) and the citizen's own data: name, date of birth, ID, BHXH and
phone numbers, which whoever knows the citizen can guess.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Final, Protocol

import attrs

from regflow._errors import FlowError, Message, flow_error
from regflow.vn._validation import _MAX_FIELD_LENGTH, normalise_password

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

#: The bounds every profile keeps: 8 is the least NIST and ASVS allow; 128 bounds the
#: hasher's work, and is twice the 64 they ask a portal to accept at least.
MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_LENGTH: Final = 128
#: The shortest name part refused inside a password: "An" or "Hà" are inside too many words.
_MIN_NAME_PART: Final = 4
#: The digits the composition rule asks for: 0-9, which every keyboard and phone keypad in
#: Vietnam types; a digit of another script (٣, ５) counts as a special character.
_ASCII_DIGITS: Final = str.maketrans("", "", "0123456789")
_LENGTH_CODES: Final = ("password.too_short", "password.too_long")
#: The letters NFD does not take apart: đ is a d with a stroke, not a d with a mark.
_STROKES: Final = str.maketrans("đĐ", "dD")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped blocklist (read once): see the header of `common_passwords.txt` for
    where it comes from and its licence."""
    text = resources.files("regflow").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def _length(_: object, __: attrs.Attribute[int], value: int) -> None:
    if not MIN_PASSWORD_LENGTH <= value <= MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password length bound is {MIN_PASSWORD_LENGTH}..{MAX_PASSWORD_LENGTH}")


def _folded_words(words: Iterable[str]) -> frozenset[str]:
    return frozenset(unicodedata.normalize("NFC", word).casefold() for word in words)


@attrs.frozen(kw_only=True)
class PasswordProfile:
    """What a new password must be, as `Policy.password` selects it.

    A host extends a shipped profile with `attrs.evolve`: ``attrs.evolve(STANDARDS_PASSWORDS,
    min_length=15, blocklist=STANDARDS_PASSWORDS.blocklist | {"tenportal2025"})``.

    - `min_length`/`max_length`: code points after NFC (8 to 128);
    - `composition`: ask for a lower-case letter, a capital, a digit and a special character;
    - `blocklist`: passwords refused whatever else they are, compared case-folded;
    - `refuse_personal_data`: refuse the flow's citizen's name, date of birth and numbers.
    """

    name: str
    min_length: int = attrs.field(default=MIN_PASSWORD_LENGTH, validator=_length)
    max_length: int = attrs.field(default=MAX_PASSWORD_LENGTH, validator=_length)
    composition: bool = True
    blocklist: frozenset[str] = attrs.field(default=frozenset(), converter=_folded_words)
    refuse_personal_data: bool = False

    def __attrs_post_init__(self) -> None:
        if self.min_length > self.max_length:
            raise ValueError("a password profile's min_length is at most its max_length")

    def length_message(self, code: str) -> Message:
        """The text of a length error, with this profile's bound in it."""
        if code == "password.too_short":
            return Message(
                f"Mật khẩu phải có ít nhất {self.min_length} ký tự.",
                f"The password must have at least {self.min_length} characters.",
            )
        return Message(
            f"Mật khẩu tối đa {self.max_length} ký tự.",
            f"The password has at most {self.max_length} characters.",
        )


#: The seed's rule, the portal's default.
PORTAL_PASSWORDS: Final = PasswordProfile(name="portal")
#: NIST SP 800-63B / OWASP ASVS 5.0: length, a blocklist, no personal data, no composition.
STANDARDS_PASSWORDS: Final = PasswordProfile(
    name="standards",
    composition=False,
    blocklist=common_passwords(),
    refuse_personal_data=True,
)


def _unaccented(text: str) -> str:
    """`text` case-folded, without marks and with only its letters and digits: "Nguyễn
    Văn-An" and "nguyen van an" read alike, as a guesser would type them."""
    decomposed = unicodedata.normalize("NFD", text.translate(_STROKES).casefold())
    return "".join(char for char in decomposed if char.isalnum() and char.isascii())


def _date_forms(day: date) -> Iterator[str]:
    """A date of birth as people write it into passwords: 15081990, 150890, 19900815."""
    yield day.strftime("%d%m%Y")
    yield day.strftime("%d%m%y")
    yield day.strftime("%Y%m%d")


def _number_forms(number: str) -> Iterator[str]:
    """A number as it may be typed: whole, and a phone's without its 0 or 84."""
    digits = "".join(filter(str.isdigit, number))
    yield digits
    for prefix in ("84", "0"):
        if digits.startswith(prefix) and len(digits) > len(prefix) + 8:
            yield digits[len(prefix) :]


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


class Person(Protocol):
    """A citizen as a BHXH record, an account or a VNeID identity shows them."""

    @property
    def full_name(self) -> str: ...
    @property
    def date_of_birth(self) -> date: ...
    @property
    def id_number(self) -> str: ...
    @property
    def former_id_numbers(self) -> tuple[str, ...]: ...
    @property
    def phone(self) -> str: ...


@attrs.frozen
class PersonalData:
    """What a flow knows of its citizen that must not be inside their password."""

    full_name: str = attrs.field(default="", repr=False)
    date_of_birth: date | None = attrs.field(default=None, repr=False)
    numbers: tuple[str, ...] = attrs.field(default=(), converter=_strings, repr=False)

    @classmethod
    def of(cls, person: Person, *numbers: str) -> PersonalData:
        """A person's name, date of birth, ID numbers and phone, and the `numbers` the flow
        knows besides (a BHXH number)."""
        known = (person.id_number, *person.former_id_numbers, person.phone, *numbers)
        return cls(person.full_name, person.date_of_birth, known)

    def fragments(self) -> frozenset[str]:
        """What is refused inside a password (as `_unaccented` reads it): the whole name, its
        parts of 4 letters or more, the date of birth's usual forms and every number."""
        parts = [_unaccented(part) for part in self.full_name.split()]
        found = {part for part in parts if len(part) >= _MIN_NAME_PART}
        found.add("".join(parts))
        if self.date_of_birth is not None:
            found.update(_date_forms(self.date_of_birth))
        for number in self.numbers:
            found.update(_number_forms(number))
        return frozenset(fragment for fragment in found if len(fragment) >= _MIN_NAME_PART)


def _composition_checks(password: str) -> tuple[tuple[str, bool], ...]:
    """The seed's four classes. Upper and lower case are Unicode's (Ă, Đ, Ấ are capitals); a
    special character is anything but a letter or 0-9 (punctuation, symbols, a space)."""
    others = password.translate(_ASCII_DIGITS)  # what is not 0-9
    return (
        # map() over str methods: no generator frame per character
        ("password.no_lowercase", any(map(str.islower, password))),
        ("password.no_uppercase", any(map(str.isupper, password))),
        ("password.no_digit", len(others) < len(password)),
        ("password.no_special", bool(others) and not others.isalpha()),
    )


def _checks(
    password: str, profile: PasswordProfile, personal: PersonalData | None
) -> tuple[tuple[str, bool], ...]:
    checks = [
        ("password.too_short", len(password) >= profile.min_length),
        ("password.too_long", len(password) <= profile.max_length),
    ]
    if profile.composition:
        checks.extend(_composition_checks(password))
    # Control and invisible characters (Unicode's C and Z categories but the space) are
    # refused by every profile: nobody can type them again at login.
    checks.append(("password.invalid_character", password.isprintable()))
    if profile.blocklist:
        checks.append(("password.common", password.casefold() not in profile.blocklist))
    if personal is not None:
        typed = _unaccented(password)
        checks.append(("password.personal_data", not any(f in typed for f in personal.fragments())))
    return tuple(checks)


def password_errors(
    password: object,
    confirmation: object,
    profile: PasswordProfile = PORTAL_PASSWORDS,
    personal: PersonalData | None = None,
) -> tuple[FlowError, ...]:
    """Check `profile` on the normalised password (`normalise_password`), one error per
    broken part; `personal` is checked when the profile refuses personal data."""
    if not isinstance(password, str):
        password = ""
    if len(password) > _MAX_FIELD_LENGTH:
        # Junk, judged by its length alone: a megabyte through every check costs a second.
        checks: tuple[tuple[str, bool], ...] = (("password.too_long", False),)
    else:
        password = normalise_password(password)
        wanted = personal if profile.refuse_personal_data else None
        checks = _checks(password, profile, wanted)
    errors = [_error(code, profile) for code, ok in checks if not ok]
    if not isinstance(confirmation, str) or normalise_password(confirmation) != password:
        errors.append(flow_error("password.mismatch", field="confirmation"))
    return tuple(errors)


def _error(code: str, profile: PasswordProfile) -> FlowError:
    """The catalogue's error; a length error of a profile with other bounds than the
    catalogue's (8 and 128) says the profile's."""
    error = flow_error(code, field="password")
    bounds = (profile.min_length, profile.max_length)
    if code in _LENGTH_CODES and bounds != (MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH):
        return attrs.evolve(error, message=profile.length_message(code))
    return error
