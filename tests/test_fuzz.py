"""Fuzzing every event's payload: whatever a host passes in, the engine answers with a view.

A few hundred inputs per event by default; set ``REGFLOW_FUZZ_EXAMPLES=10000`` for the slow
run (``--hypothesis-show-statistics`` prints how many ran). Each input goes to a fresh flow
waiting for that event; the engine must not raise, must report only catalogued error codes,
and must leave the flow loadable.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from regflow import (
    CITIZEN_BY_BHXH,
    ERRORS,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowView,
    ResendOtp,
    SetPassword,
    State,
    SubmitForm,
)
from regflow.testing import CITIZEN, FakePorts, form_for

EXAMPLES = int(os.environ.get("REGFLOW_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies -------------------------------------------------------------------------

control = st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=20)
huge = st.builds(
    lambda piece, times: piece * times, st.text(min_size=1, max_size=4), st.integers(1, 100_000)
)
wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.dates(min_value=date.min, max_value=date.max),
    st.datetimes(),
    st.timedeltas(),
)
digits = st.text(alphabet=st.characters(categories=["Nd"]), max_size=16)
anything = st.one_of(st.text(), control, huge, wrong_types, digits)


def _example_numbers() -> list[str]:
    """An example number of every country phonenumbers knows, in three spellings."""
    spellings = [
        phonenumbers.PhoneNumberFormat.E164,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
    ]
    numbers: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if example is not None:
            numbers.extend(phonenumbers.format_number(example, f) for f in spellings)
    return numbers


phones = st.one_of(
    st.sampled_from(_example_numbers()),
    st.from_regex(r"\+?[0-9 ().-]{0,20}", fullmatch=True),
    anything,
)
dates_typed = st.one_of(
    st.dates(min_value=date.min, max_value=date.max).map(lambda d: d.strftime("%d/%m/%Y")),
    st.builds(
        "{:02d}/{:02d}/{}".format,
        st.integers(-5, 99),
        st.integers(-5, 99),
        st.integers(-99_999, 99_999),
    ),
    st.dates(min_value=date.min, max_value=date.max),
    anything,
)


def _or_valid(valid: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Sometimes the right value, so that the other fields' checks are reached too."""
    return st.one_of(st.just(valid), strategy)


right = form_for(CITIZEN)
forms = st.builds(
    SubmitForm,
    bhxh_number=_or_valid(right.bhxh_number, st.one_of(digits, anything)),
    full_name=_or_valid(right.full_name, anything),
    date_of_birth=_or_valid(str(right.date_of_birth), dates_typed),
    phone=_or_valid(right.phone, phones),
    email=st.one_of(st.none(), st.emails(), anything),
)
methods = st.builds(
    ChooseMethod,
    subject=_or_valid(CITIZEN_BY_BHXH.subject, anything),
    method=_or_valid(CITIZEN_BY_BHXH.method, anything),
)
codes = st.builds(ConfirmOtp, st.one_of(st.from_regex(r"[0-9]{6}", fullmatch=True), anything))
passwords = st.builds(SetPassword, anything, anything)
resends = st.builds(lambda _: ResendOtp(), st.integers(0, 400))
not_events = st.one_of(wrong_types, st.text(), st.builds(object))

# --- the harness ------------------------------------------------------------------------


def _flow_in(state: State) -> tuple[FakePorts, Engine, str]:
    ports = FakePorts.seeded()
    engine = ports.engine()
    flow_id = engine.start().flow_id
    if state is not State.CHOOSING_METHOD:
        engine.send(flow_id, ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method))
    if state in {State.OTP_PENDING, State.SETTING_PASSWORD}:
        engine.send(flow_id, right)
    if state is State.SETTING_PASSWORD:
        engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    assert engine.view(flow_id).state is state
    return ports, engine, flow_id


def _check(engine: Engine, flow_id: str, view: FlowView) -> None:
    unknown = [code for code in view.error_codes() if code not in ERRORS]
    assert not unknown
    assert view.state is not None
    assert engine.view(flow_id).state is view.state


def _fuzz(state: State, event: object, wait: timedelta = timedelta(0)) -> FlowView:
    with capture_logs():  # thousands of flows: keep their log lines out of the output
        ports, engine, flow_id = _flow_in(state)
        ports.clock.advance(wait)
        view = engine.send(flow_id, event)  # type: ignore[arg-type]
        _check(engine, flow_id, view)
    return view


@FUZZ
@given(methods)
def test_choose_method(event: ChooseMethod) -> None:
    _fuzz(State.CHOOSING_METHOD, event)


@FUZZ
@given(forms)
def test_submit_form(event: SubmitForm) -> None:
    view = _fuzz(State.FILLING_FORM, event)
    if view.state is State.FILLING_FORM:
        assert view.errors  # a refused form always says why


@FUZZ
@given(codes, st.integers(0, 600))
def test_confirm_otp(event: ConfirmOtp, seconds: int) -> None:
    view = _fuzz(State.OTP_PENDING, event, timedelta(seconds=seconds))
    assert view.state is not State.SETTING_PASSWORD or isinstance(event.code, str)


@FUZZ
@given(resends, st.integers(0, 600))
def test_resend_otp(event: ResendOtp, seconds: int) -> None:
    _fuzz(State.OTP_PENDING, event, timedelta(seconds=seconds))


@FUZZ
@given(passwords)
def test_set_password(event: SetPassword) -> None:
    view = _fuzz(State.SETTING_PASSWORD, event)
    assert (view.state is State.COMPLETED) == view.ok


@FUZZ
@given(st.sampled_from([State.CHOOSING_METHOD, State.FILLING_FORM]), not_events)
def test_anything_that_is_not_an_event(state: State, event: object) -> None:
    assert _fuzz(state, event).error_codes() == ("event.invalid",)


def test_the_phone_strategy_spans_every_country() -> None:
    e164 = _example_numbers()[::3]
    regions = {phonenumbers.region_code_for_number(phonenumbers.parse(n)) for n in e164}
    assert len(regions) > 200
