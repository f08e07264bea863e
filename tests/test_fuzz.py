"""Fuzzing the public API: whatever a host passes in, the engine answers with a view.

Two kinds of test. The first throws any value at every event (a few hundred inputs per event;
set ``REGFLOW_FUZZ_EXAMPLES`` for more), each input to a fresh flow waiting for that event.
The second throws any text — every code point, lone surrogates, NUL and control characters,
a megabyte — at every string argument of the public API: the flow id of `Engine.send` and
`Engine.view`, the client key, and every field of every event; 10,000 inputs per argument
(``REGFLOW_STRING_INPUTS``), each sent to an engine on the in-memory stores and to one on
SQLite, which reuse one waiting flow while the inputs leave it where it was.

Everywhere the engine must not raise, must report only catalogued error codes and must leave
the flow loadable at the state it reported; and in the second kind, no log line may hold
the input or any text its renderer cannot write (the lines go to a stream that refuses
unencodable text, as a host's file or socket does).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import phonenumbers
import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from regflow import (
    CITIZEN_BY_BHXH,
    ERRORS,
    PASSWORD_RECOVERY,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowView,
    Policy,
    RecoveryState,
    ResendOtp,
    SetPassword,
    State,
    SubmitForm,
    SubmitLogin,
    open_stores,
)
from regflow.testing import CITIZEN, STRONG_PASSWORD, FakePorts, form_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from structlog.typing import EventDict, WrappedLogger

EXAMPLES = int(os.environ.get("REGFLOW_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies -------------------------------------------------------------------------

#: Every code point: with no codec to encode to, surrogates (category Cs) are drawn too.
ANY_CODE_POINT = st.characters(codec=None)
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
anything = st.one_of(st.text(ANY_CODE_POINT), control, huge, wrong_types, digits)


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


def _drive(ports: FakePorts, engine: Engine, state: State) -> str:
    """A new flow of `engine`, taken to `state` (one on the way to a registration)."""
    flow_id = engine.start("bhxh_registration").flow_id
    if state is not State.CHOOSING_METHOD:
        engine.send(flow_id, ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method))
    if state in {State.OTP_PENDING, State.SETTING_PASSWORD}:
        engine.send(flow_id, right)
    if state is State.SETTING_PASSWORD:
        engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    assert engine.view(flow_id).state is state
    return flow_id


def _flow_in(state: State) -> tuple[FakePorts, Engine, str]:
    ports = FakePorts.seeded()
    engine = ports.engine()
    return ports, engine, _drive(ports, engine, state)


def _check(engine: Engine, flow_id: str, view: FlowView) -> None:
    unknown = [code for code in view.error_codes() if code not in ERRORS]
    assert not unknown
    assert view.state is not None
    assert engine.view(flow_id).state is view.state


def _fuzz(state: State, event: object, wait: timedelta = timedelta(0)) -> FlowView:
    with capture_logs():  # thousands of flows: keep their log lines out of the output
        ports, engine, flow_id = _flow_in(state)
        ports.clock.advance(wait)
        view = engine.send(flow_id, event)
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


# --- every string argument of the public API, any code point ----------------------------

#: Inputs per string argument, each sent to both engines (in memory and on SQLite).
STRING_INPUTS = int(os.environ.get("REGFLOW_STRING_INPUTS", "10000"))
#: Inputs drawn per hypothesis example: drawing an example costs far more than one string.
BATCH = 100
MEGABYTE = 1_000_000
#: The ids `Engine.start` gives: `secrets.token_urlsafe(16)`.
FLOW_ID = re.compile(r"[A-Za-z0-9_-]{22}")
#: What any text in a log line may be: the engine's ids, codes, states, rule names, masked
#: numbers, keyed digests and times, never a citizen's or a client's own text.
LOGGED_TEXT = re.compile(r"[A-Za-z0-9_.:+*-]{0,64}")
#: The fields that name a flow or a person: no input may be one, and none at least
#: `DISTINCT` long may be inside one (a shorter one could be, by chance). The other fields
#: hold the engine's vocabulary (codes, states, rules), which hypothesis also draws: it
#: mines the code under test for its string constants.
WHO = ("flow_id", "client", "citizen")
DISTINCT = 12

#: Surrogates, NUL and the other control, format, private and unassigned code points.
odd_text = st.text(st.characters(categories=["Cs", "Cc", "Cf", "Co", "Cn", "Zs", "Zl", "Zp"]))
any_text = st.one_of(st.text(ANY_CODE_POINT), odd_text)
megabyte = st.builds(
    lambda piece: (piece * MEGABYTE)[:MEGABYTE], st.text(ANY_CODE_POINT, min_size=1, max_size=3)
)
flow_ids = st.one_of(any_text, st.from_regex(FLOW_ID, fullmatch=True), wrong_types)


def _batches(element: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    """`BATCH` inputs: `BATCH - 1` drawn from `element`, and a megabyte of any text."""
    return st.builds(
        lambda drawn, big: [*drawn, big],
        st.lists(element, min_size=BATCH - 1, max_size=BATCH - 1),
        megabyte,
    )


STRINGS = settings(
    max_examples=math.ceil(STRING_INPUTS / BATCH),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
#: Limits a fuzzing flow never reaches, so one flow takes every input (the limits have
#: their own tests): wrong codes and mismatches leave it where it was.
LENIENT = Policy(otp_max_attempts=10**9, max_mismatches=10**9)
#: The states a flow waiting in the key state is still waiting in after an input.
STILL_WAITING = {State.FILLING_FORM: {State.FILLING_FORM, State.DATA_MISMATCH}}


def _form_with(field: str) -> Callable[[Engine, str, Any], FlowView]:
    def send(engine: Engine, flow_id: str, value: Any) -> FlowView:
        return engine.send(flow_id, attrs.evolve(right, **{field: value}))

    return send


@attrs.frozen
class Argument:
    """One string argument of the public API: how an input reaches it, in which state."""

    name: str
    waits_in: State
    send: Callable[[Engine, str, Any], FlowView]
    element: st.SearchStrategy[Any] = any_text
    #: The input is the flow id itself: the answer is `flow.not_found`, the flow untouched.
    is_flow_id: bool = False
    #: The engine counts across flows (the client key reaches the limiter).
    limited: bool = False


ARGUMENTS = [
    Argument(
        "Engine.send(flow_id)",
        State.CHOOSING_METHOD,
        lambda engine, _, value: engine.send(value, ChooseMethod("citizen", "bhxh")),
        flow_ids,
        is_flow_id=True,
    ),
    Argument(
        "Engine.view(flow_id)",
        State.CHOOSING_METHOD,
        lambda engine, _, value: engine.view(value),
        flow_ids,
        is_flow_id=True,
    ),
    Argument(
        "Engine.send(client)",
        State.FILLING_FORM,
        lambda engine, flow_id, value: engine.send(
            flow_id, form_for(full_name="Trần Văn Bình"), client=value
        ),
        limited=True,
    ),
    Argument(
        "ChooseMethod.subject",
        State.CHOOSING_METHOD,
        lambda engine, flow_id, value: engine.send(flow_id, ChooseMethod(value, "bhxh")),
    ),
    Argument(
        "ChooseMethod.method",
        State.CHOOSING_METHOD,
        lambda engine, flow_id, value: engine.send(flow_id, ChooseMethod("citizen", value)),
    ),
    *(
        Argument(f"SubmitForm.{field}", State.FILLING_FORM, _form_with(field))
        for field in ("bhxh_number", "full_name", "date_of_birth", "phone", "email")
    ),
    Argument(
        "ConfirmOtp.code",
        State.OTP_PENDING,
        lambda engine, flow_id, value: engine.send(flow_id, ConfirmOtp(value)),
    ),
    Argument(
        "SetPassword.password (its confirmation the same)",
        State.SETTING_PASSWORD,
        lambda engine, flow_id, value: engine.send(flow_id, SetPassword(value, value)),
    ),
    Argument(
        "SetPassword.confirmation",
        State.SETTING_PASSWORD,
        lambda engine, flow_id, value: engine.send(flow_id, SetPassword(STRONG_PASSWORD, value)),
    ),
]


class WaitingFlow:
    """An engine on the in-memory stores (no `folder`) or on SQLite, and a flow of it waiting
    for `argument`'s inputs. A new flow replaces it only when an input moved it on (a valid
    value, by chance), on new stores when it made an account: a flow per input would cost
    more than the inputs themselves."""

    def __init__(self, argument: Argument, folder: Path | None) -> None:
        self.argument = argument
        self._folder = folder
        self._files = itertools.count()
        self.close: Callable[[], None] = lambda: None
        self._open()

    def _open(self) -> None:
        self.close()
        self._ports = ports = FakePorts.seeded()
        if self._folder is not None:
            stores = open_stores(self._folder / f"{next(self._files)}.sqlite3")
            ports.users, ports.flows = stores.users, stores.flows  # type: ignore[assignment]
            self.close = stores.close
        limiter = ports.limiter if self.argument.limited else None
        self.engine = ports.engine(policy=LENIENT, limiter=limiter)
        self._new_flow()

    def _new_flow(self) -> None:
        self.flow_id = _drive(self._ports, self.engine, self.argument.waits_in)

    def send(self, value: object) -> None:
        view = self.argument.send(self.engine, self.flow_id, value)
        if self.argument.is_flow_id:
            assert view.error_codes() == ("flow.not_found",)
            assert view.flow_id in ("", value)
            return
        _check(self.engine, self.flow_id, view)
        waiting = self.argument.waits_in
        if view.state is State.COMPLETED:
            self._open()
        elif view.state not in STILL_WAITING.get(waiting, {waiting}):
            self._new_flow()


class LogCheck:
    """structlog's processor before the renderer, and the stream after it: notes every line
    holding text that is not the engine's own, and every line the stream cannot write."""

    def __init__(self) -> None:
        self.input: object = None
        self.problems: list[str] = []

    def __call__(self, _: WrappedLogger, __: str, event: EventDict) -> EventDict:
        texts = [
            text
            for value in event.values()
            for text in (value if isinstance(value, list) else [value])
            if isinstance(text, str)
        ]
        self.problems += [
            f"{event['event']}: {text[:40]!r} is not the engine's"
            for text in texts
            if not LOGGED_TEXT.fullmatch(text)
        ]
        typed = self.input
        if isinstance(typed, str) and typed:
            who = [text for key in WHO if isinstance(text := event.get(key), str)]
            if typed in who or (len(typed) >= DISTINCT and any(typed in text for text in who)):
                self.problems.append(f"{event['event']}: the input is logged: {ascii(typed)[:60]}")
        return event

    def write(self, line: str) -> None:
        try:
            line.encode()
        except UnicodeEncodeError:
            self.problems.append(f"the stream cannot write {line[:80]!r}")

    def flush(self) -> None:
        """Nothing is kept: every line was checked on its way."""


@pytest.fixture
def log_check() -> Iterator[LogCheck]:
    """The engine's log as a host writes it: JSON lines, to a stream of UTF-8 bytes."""
    check = LogCheck()
    saved = structlog.get_config()
    structlog.configure(
        processors=[check, structlog.processors.JSONRenderer(ensure_ascii=False)],
        logger_factory=structlog.WriteLoggerFactory(file=check),  # type: ignore[arg-type]
    )
    yield check
    structlog.configure(**saved)


@pytest.mark.parametrize("argument", ARGUMENTS, ids=lambda argument: argument.name)
# A failing batch holds a megabyte: hypothesis warns that its report is large, and reports it.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_every_string_argument_takes_any_code_point(
    argument: Argument, tmp_path: Path, log_check: LogCheck
) -> None:
    flows = [WaitingFlow(argument, None), WaitingFlow(argument, tmp_path)]
    sent = 0

    @STRINGS
    @given(_batches(argument.element))
    def send_batch(batch: list[object]) -> None:
        nonlocal sent
        for value in batch:
            log_check.input = value
            for flow in flows:
                flow.send(value)
            assert not log_check.problems
            sent += 1

    try:
        send_batch()
    finally:
        for flow in flows:
            flow.close()
    assert sent >= STRING_INPUTS


def test_the_log_check_sees_an_input_and_text_the_stream_cannot_write(
    log_check: LogCheck,
) -> None:
    log_check.input = "203.0.113.9"
    structlog.get_logger().info("flow.transition", client="203.0.113.9", full_name="\ud800")

    [not_the_engines, logged, unwritable] = log_check.problems
    assert not_the_engines == "flow.transition: '\\ud800' is not the engine's"
    assert logged == "flow.transition: the input is logged: '203.0.113.9'"
    assert unwritable.startswith("the stream cannot write")


# --- the password recovery's own string and the flow's name --------------------------------


@FUZZ
@given(st.one_of(anything, digits, st.from_regex(r"[0-9 ]{9,14}", fullmatch=True)))
def test_submit_login(login: object) -> None:
    """Any login gets a catalogued answer: the OTP screen or a refusal on its field."""
    with capture_logs():
        ports = FakePorts.seeded()
        engine = ports.engine()
        flow_id = engine.start(PASSWORD_RECOVERY.name).flow_id
        view = engine.send(flow_id, SubmitLogin(login))  # type: ignore[arg-type]
    codes = view.error_codes()
    assert view.state in (RecoveryState.ENTERING_LOGIN, RecoveryState.OTP_PENDING)
    assert all(code in {"login.required", "login.invalid"} for code in codes)
    assert (view.state is RecoveryState.ENTERING_LOGIN) == bool(codes)


@FUZZ
@given(anything)
def test_start_with_any_flow_name(name: object) -> None:
    """A name the engine runs no flow of is `flow.unknown`, never an exception."""
    with capture_logs():
        view = FakePorts.seeded().engine().start(name)  # type: ignore[arg-type]
    assert view.error_codes() == ("flow.unknown",)
    assert view.state is None
