"""Strangers who know a BHXH number: they learn no more than the allowance, and cannot keep
the real citizen out; and OTP guessing is capped per citizen, across flows.

The figures `docs/operations.md` states are computed here, by running the attacks.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from regflow import (
    CITIZEN_BY_BHXH,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowView,
    Policy,
    RateLimit,
    RateLimits,
    ResendOtp,
    SetPassword,
    State,
)
from regflow.testing import CITIZEN, FakePorts, InMemoryRateLimiter, form_for

if TYPE_CHECKING:
    from collections.abc import Sequence

OPERATIONS = Path(__file__).parent.parent / "docs" / "operations.md"
STRONG_PASSWORD = "Mật-khẩu-1A"
WRONG_NAME = "Trần Thị Bình"
HOUR = timedelta(hours=1)
#: What a view shows the citizen, apart from what differs between any two flows.
SHOWN = ("state", "errors", "allowed_events", "otp_sends_left", "phone_hint")


def _engine(ports: FakePorts, **limits: tuple[RateLimit, ...]) -> Engine:
    policy = Policy(rate_limits=RateLimits(**limits))
    return ports.engine(policy=policy, limiter=InMemoryRateLimiter(ports.clock))


def _submit(engine: Engine, client: str | None = None, **changes: str | None) -> FlowView:
    flow = engine.start("bhxh_registration")
    engine.send(flow.flow_id, ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method))
    return engine.send(flow.flow_id, form_for(CITIZEN, **changes), client=client)


def _shown(view: FlowView) -> dict[str, object]:
    return {name: getattr(view, name) for name in SHOWN}


def _probe(engine: Engine, mismatches: int = 3) -> None:
    for _ in range(mismatches):
        assert _submit(engine, full_name=WRONG_NAME).state is State.DATA_MISMATCH


def _probed_after_one_mismatch(ports: FakePorts, **limits: tuple[RateLimit, ...]) -> Engine:
    """An engine whose number allows one failed match a day, already used up: every form for
    the number is answered as probed from now on."""
    engine = _engine(ports, mismatches_per_bhxh_number=(RateLimit(1, HOUR),), **limits)
    _probe(engine, mismatches=1)
    return engine


def _stated(test: str) -> str:
    """The figure (the first bold text) of the row of docs/operations.md naming `test`."""
    row = next(line for line in OPERATIONS.read_text().splitlines() if f"`{test}`" in line)
    figure = re.search(r"\*\*(.+?)\*\*", row)
    assert figure is not None, row
    return figure.group(1)


# --- a probed number answers a match and a mismatch alike -----------------------------------


def test_a_probed_number_answers_a_match_and_a_mismatch_alike() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, mismatches_per_bhxh_number=(RateLimit(3, HOUR),))
    _probe(engine)

    decoy = _submit(engine, full_name=WRONG_NAME)
    real = _submit(engine)

    assert _shown(decoy) == _shown(real)
    assert real.state is State.OTP_PENDING
    assert real.error_codes() == ("bhxh.number_probed",)
    assert real.phone_hint == "+849*****678"
    assert [sms.phone for sms in ports.sms.sent] == [CITIZEN.phone]  # none for the decoy


def test_a_decoy_resends_like_a_real_flow_sends_nothing_and_never_takes_a_code() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, mismatches_per_bhxh_number=(RateLimit(3, HOUR),))
    _probe(engine)
    decoy, real = _submit(engine, full_name=WRONG_NAME), _submit(engine)
    real_code = ports.sms.last_code()

    ports.clock.advance(seconds=61)
    resent = [engine.send(flow.flow_id, ResendOtp()) for flow in (decoy, real)]
    assert _shown(resent[0]) == _shown(resent[1])
    assert len(ports.sms.sent) == 2  # the real flow's two texts
    confirmed = [engine.send(decoy.flow_id, ConfirmOtp(ports.sms.last_code()))]
    confirmed += [engine.send(decoy.flow_id, ConfirmOtp(real_code)) for _ in range(4)]

    assert [view.error_codes() for view in confirmed] == [("otp.invalid",)] * 4 + [
        ("otp.too_many_attempts",)
    ]
    assert confirmed[-1].state is State.LOCKED


def test_a_probed_form_tells_that_an_account_exists_only_after_the_code() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, mismatches_per_bhxh_number=(RateLimit(3, HOUR),))
    first = _submit(engine)
    engine.send(first.flow_id, ConfirmOtp(ports.sms.last_code()))
    assert engine.send(first.flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)).account
    _probe(engine)

    probed = _submit(engine)
    assert probed.state is State.OTP_PENDING
    view = engine.send(probed.flow_id, ConfirmOtp(ports.sms.last_code()))

    assert (view.state, view.error_codes()) == (State.ACCOUNT_EXISTS, ("account.exists",))


def test_used_up_forms_per_number_probe_it_instead_of_refusing_the_citizen() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, attempts_per_bhxh_number=(RateLimit(2, HOUR),))
    _submit(engine)
    _submit(engine)

    view = _submit(engine)

    assert (view.state, view.error_codes()) == (State.OTP_PENDING, ("bhxh.number_probed",))
    assert len(ports.sms.sent) == 3  # the citizen still gets a code
    other = _submit(engine, bhxh_number="0123456780")  # another number: its own count
    assert other.error_codes() == ("bhxh.data_mismatch",)


class MeetingLimiter(InMemoryRateLimiter):
    """Holds each thread after its first answer from the number's mismatch counter until
    every thread has had one: all racing requests have asked before any goes on."""

    def __init__(self, ports: FakePorts, racers: int) -> None:
        super().__init__(ports.clock)
        self._meeting = threading.Barrier(racers)
        self._met = threading.local()

    def _meet(self, key: str, answer: datetime | None) -> datetime | None:
        if key.startswith("regflow:bhxh_mismatch:") and not getattr(self._met, "done", False):
            self._met.done = True
            self._meeting.wait(timeout=10)
        return answer

    def hit(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        return self._meet(key, super().hit(key, limits))

    def peek(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        return self._meet(key, super().peek(key, limits))


def test_racing_mismatches_get_no_more_revealing_answers_than_the_allowance() -> None:
    """The mismatch is counted before it is answered: ten flows at once, allowance three."""
    ports = FakePorts.seeded()
    limits = RateLimits(mismatches_per_bhxh_number=(RateLimit(3, HOUR),))
    limiter = MeetingLimiter(ports, racers=10)
    engine = ports.engine(policy=Policy(rate_limits=limits), limiter=limiter)
    flows = [engine.start("bhxh_registration").flow_id for _ in range(10)]
    for flow_id in flows:
        engine.send(flow_id, ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method))
    wrong = form_for(CITIZEN, full_name=WRONG_NAME)

    with ThreadPoolExecutor(max_workers=10) as pool:
        views = list(pool.map(lambda flow_id: engine.send(flow_id, wrong), flows))

    states = [view.state for view in views]
    assert (states.count(State.DATA_MISMATCH), states.count(State.OTP_PENDING)) == (3, 7)


# --- per-client limits do the main work ---------------------------------------------------


def test_mismatches_per_client_stop_the_client_and_not_the_citizen() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, mismatches_per_client=(RateLimit(2, HOUR),))
    for _ in range(2):
        assert _submit(engine, client="bot", full_name=WRONG_NAME).state is State.DATA_MISMATCH
    ports.bhxh.records.clear()  # were BHXH asked now, the record would be missing

    refused = _submit(engine, client="bot")

    assert refused.error_codes() == ("client.mismatch_rate_limited",)
    assert refused.errors[0].retry_at == ports.clock.now() + HOUR
    ports.bhxh.add(CITIZEN)
    assert _submit(engine, client="citizen").state is State.OTP_PENDING


def test_a_bot_behind_the_citizens_address_keeps_the_address_out_while_it_runs() -> None:
    """Per-client limits cannot tell a bot from the citizens behind its address (CGNAT, a
    commune's counter): sending again the minute a window frees, it keeps them all out."""
    ports = FakePorts.seeded()
    engine = _engine(ports)  # the default limits
    refused_minutes = 0
    for _ in range(2 * 24 * 60):
        while _submit(engine, "100.64.0.1", full_name=WRONG_NAME).state is not State.FILLING_FORM:
            pass
        refused_minutes += _submit(engine, "100.64.0.1").state is State.FILLING_FORM
        ports.clock.advance(minutes=1)

    hours = refused_minutes // 60
    test = "test_a_bot_behind_the_citizens_address_keeps_the_address_out_while_it_runs"
    assert f"{hours} of 48 hours" == _stated(test)


def test_a_probed_form_counts_against_the_client_whether_it_matched_or_not() -> None:
    """Else the client's own limit would tell which of its probed forms matched."""
    ports = FakePorts.seeded()
    engine = _probed_after_one_mismatch(ports, mismatches_per_client=(RateLimit(2, HOUR),))
    assert _submit(engine, client="c").error_codes() == ("bhxh.number_probed",)
    assert _submit(engine, client="c", full_name=WRONG_NAME).state is State.OTP_PENDING

    assert _submit(engine, client="c").error_codes() == ("client.mismatch_rate_limited",)


# --- the two figures of the attack on one BHXH number ---------------------------------------


def _attack(engine: Engine, ports: FakePorts, hours: int) -> list[FlowView]:
    """Every hour, 100 new clients each submit wrong names from two new flows."""
    answers = []
    for hour in range(hours):
        clients = [f"10.{hour}.0.{client}" for client in range(100)]
        answers += [_submit(engine, c, full_name=WRONG_NAME) for c in clients for _ in range(2)]
        ports.clock.advance(HOUR)
    return answers


def _registers(engine: Engine, ports: FakePorts, client: str) -> bool:
    view = _submit(engine, client)
    if view.state is not State.OTP_PENDING:
        return False
    view = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code()), client=client)
    password = SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)
    return engine.send(view.flow_id, password, client=client).state is State.COMPLETED


def test_strangers_who_know_the_number_cannot_keep_the_citizen_out() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports)  # the default limits
    _attack(engine, ports, hours=2)
    attack_over = ports.clock.now()

    while not _registers(engine, ports, client="203.0.113.9"):  # a fresh client
        ports.clock.advance(minutes=1)

    lock_out = int((ports.clock.now() - attack_over).total_seconds())
    assert f"{lock_out} s" == _stated(
        "test_strangers_who_know_the_number_cannot_keep_the_citizen_out"
    )


def test_any_number_of_clients_gets_the_allowance_of_revealing_answers_a_day() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports)
    answers = _attack(engine, ports, hours=24)

    revealing = [a for a in answers if "bhxh.number_probed" not in a.error_codes()]
    assert all(a.state in {State.DATA_MISMATCH, State.LOCKED} for a in revealing)
    assert {a.state for a in answers} == {State.DATA_MISMATCH, State.OTP_PENDING}
    test = "test_any_number_of_clients_gets_the_allowance_of_revealing_answers_a_day"
    assert str(len(revealing)) == _stated(test)
    assert not ports.sms.sent  # and the decoys texted nobody


# --- OTP guessing, capped per citizen -------------------------------------------------------


def _wrong(ports: FakePorts) -> str:
    return f"{(int(ports.sms.last_code()) + 1) % 1_000_000:06d}"


def test_wrong_codes_are_capped_per_citizen_across_flows() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, otp_failures_per_citizen=(RateLimit(3, HOUR),))
    first = _submit(engine)
    for _ in range(3):
        assert engine.send(first.flow_id, ConfirmOtp(_wrong(ports))).error_codes() == (
            "otp.invalid",
        )

    second = _submit(engine)
    refused = engine.send(second.flow_id, ConfirmOtp(ports.sms.last_code()))  # even the right one

    assert refused.error_codes() == ("otp.guess_rate_limited",)
    assert refused.errors[0].retry_at == ports.clock.now() + HOUR
    ports.clock.advance(HOUR)
    third = _submit(engine)
    right = engine.send(third.flow_id, ConfirmOtp(ports.sms.last_code()))
    assert right.state is State.SETTING_PASSWORD


def test_a_decoy_never_counts_against_the_citizens_codes() -> None:
    ports = FakePorts.seeded()
    engine = _probed_after_one_mismatch(ports, otp_failures_per_citizen=(RateLimit(1, HOUR),))
    for _ in range(5):  # strangers enter wrong codes in decoys: they lock, nothing else
        decoy = _submit(engine, full_name=WRONG_NAME)
        for code in ("000000", "111111", "222222", "333333", "444444"):
            engine.send(decoy.flow_id, ConfirmOtp(code))

    assert _registers(engine, ports, client="203.0.113.9")


def test_a_probed_flow_over_the_citizens_cap_takes_no_code_and_says_only_it_is_wrong() -> None:
    """A decoy never says `otp.guess_rate_limited`, so a probed flow may not either."""
    ports = FakePorts.seeded()
    engine = _probed_after_one_mismatch(ports, otp_failures_per_citizen=(RateLimit(1, HOUR),))
    first = _submit(engine)
    engine.send(first.flow_id, ConfirmOtp(_wrong(ports)))

    real = _submit(engine)
    view = engine.send(real.flow_id, ConfirmOtp(ports.sms.last_code()))

    assert (view.state, view.error_codes()) == (State.OTP_PENDING, ("otp.invalid",))


def test_a_probed_flow_whose_phone_has_no_texts_left_sends_a_decoy() -> None:
    """A decoy never says `otp.send_rate_limited`, so a probed flow may not either."""
    ports = FakePorts.seeded()
    engine = _probed_after_one_mismatch(ports, otp_sends_per_phone=(RateLimit(2, HOUR),))
    real = _submit(engine)
    ports.clock.advance(seconds=61)
    assert engine.send(real.flow_id, ResendOtp()).ok  # the phone's second text

    ports.clock.advance(seconds=61)
    resent = engine.send(real.flow_id, ResendOtp())
    again = _submit(engine)

    assert resent.ok
    assert again.error_codes() == ("bhxh.number_probed",)
    assert len(ports.sms.sent) == 2
    last = engine.send(real.flow_id, ConfirmOtp(ports.sms.last_code()))
    assert last.error_codes() == ("otp.invalid",)


def _guess_for_a_day(engine: Engine, ports: FakePorts) -> int:
    """Someone who knows the citizen's details guesses codes all day; how many were judged."""
    judged = 0
    while True:
        view = _submit(engine)
        if view.state is not State.OTP_PENDING:
            return judged
        while view.state is State.OTP_PENDING:
            view = engine.send(view.flow_id, ConfirmOtp(_wrong(ports)))
            if view.error_codes() == ("otp.guess_rate_limited",):
                return judged
            judged += 1


def test_a_year_of_guessing_one_citizens_codes() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports)  # the default limits
    guesses = 0
    for _ in range(365):
        guesses += _guess_for_a_day(engine, ports)
        ports.clock.advance(days=1)

    chance = 1 - (1 - 1e-6) ** guesses
    stated = _stated("test_a_year_of_guessing_one_citizens_codes")
    assert stated == f"{guesses} guesses a year ({chance:.3%} to hit one code)"


class BlindPeeks(InMemoryRateLimiter):
    """Peeks see room that a hit then finds taken: another flow won the phone's last text."""

    def peek(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        return None if key.startswith("regflow:otp_send:") else super().peek(key, limits)


def test_a_probed_flow_that_loses_the_phones_last_text_to_another_flow_looks_like_a_decoy() -> None:
    """The race a decoy never runs (the phone's last text taken by another flow meanwhile)
    shows in no field of a probed flow's view, its version included."""
    ports = FakePorts.seeded()
    limits = RateLimits(
        mismatches_per_bhxh_number=(RateLimit(1, HOUR),),
        otp_sends_per_phone=(RateLimit(1, HOUR),),
    )
    engine = ports.engine(policy=Policy(rate_limits=limits), limiter=BlindPeeks(ports.clock))
    _probe(engine, mismatches=1)
    _submit(engine)

    lost = _submit(engine)

    assert lost.error_codes() == ("bhxh.number_probed",)
    assert _all_shown(lost) == _all_shown(_submit(engine, full_name=WRONG_NAME))
    assert len(ports.sms.sent) == 1
    assert engine.send(lost.flow_id, ConfirmOtp(ports.sms.last_code())).error_codes() == (
        "otp.invalid",
    )


def _all_shown(view: FlowView) -> dict[str, object]:
    """Every field of a view but the flow's id: all a party that holds the flow can see."""
    shown = attrs.asdict(view, recurse=False)
    del shown["flow_id"]
    return shown


def test_a_probed_flow_whose_text_fails_answers_like_a_decoy() -> None:
    """A decoy never calls the provider, so it never fails: a failing text may not show in a
    probed flow either (`sms.unavailable`, no code, no cooldown, one more save), or an outage
    of the provider would tell every match from a mismatch. The code stays: it may have
    arrived, and "Gửi lại OTP" works once the cooldown is over."""
    ports = FakePorts.seeded()
    engine = _probed_after_one_mismatch(ports)

    ports.sms.fail_next()
    real = _submit(engine)
    decoy = _submit(engine, full_name=WRONG_NAME)

    assert _all_shown(real) == _all_shown(decoy)
    ports.clock.advance(seconds=61)
    ports.sms.fail_next()
    resent = [engine.send(flow.flow_id, ResendOtp()) for flow in (real, decoy)]
    assert _all_shown(resent[0]) == _all_shown(resent[1])
    ports.clock.advance(seconds=61)
    assert engine.send(real.flow_id, ResendOtp()).ok
    view = engine.send(real.flow_id, ConfirmOtp(ports.sms.last_code()))
    assert view.state is State.SETTING_PASSWORD
