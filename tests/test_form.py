"""Step 3 of the seed: the BHXH form's required fields, each with its own error."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from typing import Any

import pytest

from regflow import ERRORS, Engine, State, SubmitForm
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import at_form


def submit(engine: Engine, form: SubmitForm) -> tuple[str | None, dict[str, str]]:
    view = engine.send(at_form(engine).flow_id, form)
    return view.state, {e.field or "": e.code for e in view.errors}


def test_an_empty_form_reports_every_required_field_at_once(engine: Engine) -> None:
    state, errors = submit(
        engine, SubmitForm(bhxh_number="", full_name=" ", date_of_birth="", phone="", id_number="")
    )

    assert state is State.FILLING_FORM
    assert errors == {
        "bhxh_number": "bhxh_number.required",
        "full_name": "full_name.required",
        "date_of_birth": "date_of_birth.required",
        "phone": "phone.required",
        "id_number": "id_number.required",
    }


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("bhxh_number", "123456789", "bhxh_number.invalid"),
        ("bhxh_number", "01234567890", "bhxh_number.invalid"),
        ("bhxh_number", "01234x6789", "bhxh_number.invalid"),
        ("bhxh_number", "０１２３４５６７８９", "bhxh_number.invalid"),  # full-width digits
        ("full_name", "Nguyễn Văn 4n", "full_name.invalid"),
        ("full_name", "A" * 101, "full_name.invalid"),
        pytest.param("full_name", "A " * 1_000_000, "full_name.invalid", id="huge-name"),
        ("full_name", "Nguyễn \ud800", "full_name.invalid"),
        ("full_name", "Nguyễn\x00Văn", "full_name.invalid"),
        ("date_of_birth", "31/02/1990", "date_of_birth.invalid"),
        ("date_of_birth", "yesterday", "date_of_birth.invalid"),
        ("date_of_birth", "01/01/1899", "date_of_birth.out_of_range"),
        ("date_of_birth", "01/01/2027", "date_of_birth.out_of_range"),
        ("phone", "12345", "phone.invalid"),
        ("phone", "+14155552671", "phone.invalid"),  # valid, but not Vietnamese
        ("phone", "0243 8256 789", "phone.invalid"),  # Vietnamese landline, not mobile
        ("email", "not-an-email", "email.invalid"),
        ("email", "an@example", "email.invalid"),
        ("email", "an @example.vn", "email.invalid"),
        ("email", "an\n@example.vn", "email.invalid"),
        ("email", "an@example\n.vn", "email.invalid"),
        ("id_number", "12345", "id_number.invalid"),
        ("id_number", "999090012345", "id_number.invalid"),  # no province 999
        ("id_number", "00109001234x", "id_number.invalid"),
        ("id_number", "1" * 100, "id_number.invalid"),
        ("id_number", "001\ud800", "id_number.invalid"),
    ],
)
def test_each_invalid_field_gets_its_own_code_and_field_name(
    engine: Engine, field: str, value: str, code: str
) -> None:
    state, errors = submit(engine, form_for(**{field: value}))

    assert state is State.FILLING_FORM
    assert errors == {field: code}


def test_fields_of_the_wrong_type_are_reported_not_raised(engine: Engine) -> None:
    wrong: dict[str, Any] = {"bhxh_number": 123, "full_name": None, "date_of_birth": []}
    form = SubmitForm(**wrong, phone=0, email=5, id_number=7)  # type: ignore[arg-type]

    state, errors = submit(engine, form)

    assert state is State.FILLING_FORM
    assert set(errors) == {
        "bhxh_number",
        "full_name",
        "date_of_birth",
        "phone",
        "email",
        "id_number",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"bhxh_number": " 0123 456 789 "},
        {"date_of_birth": "1990-05-17"},
        {"phone": "+84 912 345 678"},
        {"phone": "0912.345.678"},
        {"email": ""},
        {"email": "an.nguyen@Example.VN"},
    ],
)
def test_accepted_spellings_are_normalised_and_match(
    engine: Engine, changes: dict[str, str]
) -> None:
    state, errors = submit(engine, form_for(**changes))

    assert errors == {}
    assert state is State.OTP_PENDING


def test_a_date_object_is_accepted(engine: Engine) -> None:
    form = SubmitForm(
        bhxh_number=CITIZEN.bhxh_number,
        full_name=CITIZEN.full_name,
        date_of_birth=date(1990, 5, 17),
        phone="0912345678",
        id_number=CITIZEN.id_number,
    )

    assert submit(engine, form)[0] is State.OTP_PENDING


def test_the_name_matches_after_nfc_case_folding_and_space_collapsing(engine: Engine) -> None:
    typed = unicodedata.normalize("NFD", "NGUYỄN  văn   AN")
    assert typed != unicodedata.normalize("NFC", typed)

    state, errors = submit(engine, form_for(full_name=typed))

    assert (state, errors) == (State.OTP_PENDING, {})


def test_diacritics_still_matter(engine: Engine) -> None:
    state, errors = submit(engine, form_for(full_name="Nguyen Van An"))

    assert state is State.DATA_MISMATCH
    assert errors == {"": "bhxh.data_mismatch"}


def test_field_errors_come_before_the_bhxh_check(ports: FakePorts) -> None:
    engine = ports.engine()
    ports.bhxh.records.clear()  # a look-up now would report a mismatch

    state, errors = submit(engine, form_for(phone="123"))

    assert (state, errors) == (State.FILLING_FORM, {"phone": "phone.invalid"})


@pytest.mark.parametrize(
    ("now", "typed", "accepted"),
    [
        (datetime(2026, 1, 1, 8, 0, tzinfo=UTC), "01/01/1900", True),  # the lower bound
        (datetime(2026, 1, 1, 8, 0, tzinfo=UTC), "31/12/1899", False),
        (datetime(2026, 1, 1, 8, 0, tzinfo=UTC), "01/01/2026", True),  # today
        (datetime(2026, 1, 1, 8, 0, tzinfo=UTC), "02/01/2026", False),  # tomorrow
        # 20:00 UTC is 03:00 the next day in Vietnam: "today" is Vietnam's date.
        (datetime(2026, 1, 1, 20, 0, tzinfo=UTC), "02/01/2026", True),
        (datetime(2026, 1, 1, 20, 0, tzinfo=UTC), "03/01/2026", False),
        (datetime(2026, 1, 1, 16, 59, 59, tzinfo=UTC), "02/01/2026", False),
        (datetime(2026, 1, 1, 17, 0, tzinfo=UTC), "02/01/2026", True),
    ],
)
def test_the_date_of_birth_runs_from_1_january_1900_to_today_in_vietnam(
    ports: FakePorts, now: datetime, typed: str, accepted: bool
) -> None:
    ports.clock.set(now)
    engine = ports.engine()

    view = engine.send(at_form(engine).flow_id, form_for(date_of_birth=typed))

    errors = view.field_errors("date_of_birth")
    assert [e.code for e in errors] == ([] if accepted else ["date_of_birth.out_of_range"])


def test_the_out_of_range_message_names_the_bounds_the_rule_applies() -> None:
    message = ERRORS["date_of_birth.out_of_range"].message

    assert "01/01/1900" in message.vi
    assert "hôm nay" in message.vi
    assert "01/01/1900" in message.en
    assert "today" in message.en
