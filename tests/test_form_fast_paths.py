"""The form's fast paths give the answers of the slow, general parsers they stand in for.

These are the one place the tests reach into `regflow.vn._validation`: what is checked is an
internal equivalence, which no public call can show.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import TYPE_CHECKING

from hypothesis import given
from hypothesis import strategies as st

from regflow import ChooseMethod, State
from regflow.flows import registration
from regflow.testing import FakePorts, form_for
from regflow.vn import _validation

if TYPE_CHECKING:
    import pytest

SEPARATORS = ("", " ", ".", "-")


def test_every_number_prefix_and_length_is_judged_as_phonenumbers_judges_it() -> None:
    for prefix, length, trunk in itertools.product(range(100, 1000), range(7, 12), ("0", "+84")):
        national = f"{prefix}{'4' * (length - 3)}"
        for typed in (
            f"{trunk}{national}",
            f"{trunk} {national[:3]}.{national[3:6]}-{national[6:]}",
        ):
            assert _validation.normalise_phone(typed) == _validation._parse_phone(typed), typed


@given(
    st.lists(
        st.sampled_from(["0", "+84", "+", "84", "00", "1", "9", "3", "7", " ", ".", "-", "(", "x"])
        | st.from_regex(r"[0-9]{1,4}", fullmatch=True),
        max_size=8,
    )
)
def test_any_typed_number_is_judged_as_phonenumbers_judges_it(parts: list[str]) -> None:
    typed = "".join(parts)
    assert _validation.normalise_phone(typed) == _validation._parse_phone(typed)


def by_strptime(text: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


#: Days and months with and without leading zeros, out of range, or missing; years likewise.
DAYS = ("", "0", "1", "01", "001", "9", "12", "13", "29", "31", "32", "٣")
YEARS = ("", "990", "1990", "01990", "2024", "2023")


def test_every_typed_date_shape_is_read_as_strptime_reads_it() -> None:
    for day, month, year, first, second in itertools.product(
        DAYS, DAYS, YEARS, ("/", "-", ""), ("/", "-")
    ):
        for text in (f"{day}{first}{month}{second}{year}", f"{year}{first}{month}{second}{day}"):
            assert _validation.parse_date(text) == by_strptime(text), text


def test_impossible_days_of_the_portal_format_are_refused() -> None:
    assert _validation.parse_date("29/02/2023") is None
    assert _validation.parse_date("29/02/2024") == date(2024, 2, 29)
    assert _validation.parse_date("1/5/1990") == date(1990, 5, 1)


def test_a_submit_compares_the_form_with_the_record_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mismatch limit, the mismatch and the match edge all ask whether the form differs
    from the record; it is worked out once a request (two names normalised, not four)."""
    names: list[str] = []

    def counted(name: str) -> str:
        names.append(name)
        return _validation.normalise_name(name)

    monkeypatch.setattr(registration, "normalise_name", counted)
    ports = FakePorts.seeded()
    engine = ports.engine()
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    assert engine.send(flow_id, form_for()).state is State.OTP_PENDING
    assert len(names) == 2
