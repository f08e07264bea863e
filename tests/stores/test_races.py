"""Races and crashes on the stores that many app servers share (SQLite, PostgreSQL).

Each race starts 50 requests at once from 50 threads; on PostgreSQL each thread holds its
own pooled connection, on SQLite its own connection to the one file.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regflow import (
    ConfirmOtp,
    FlowSnapshot,
    FlowView,
    Policy,
    RateLimit,
    RateLimits,
    ResendOtp,
    SetPassword,
    State,
)
from regflow.flows.registration import account_of
from regflow.testing import CITIZEN, FakePorts, InMemoryRateLimiter

from .conftest import STRONG_PASSWORD, Backend, at_otp, at_password, engine_on, typed
from .dies_after_add import DIED_AFTER_ADD, FLOW_ID, DiesAfterAdd

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from regflow import Account
    from regflow.ports import FlowStore

RACERS = 50
#: Where `python -m tests.…` finds the tests package.
ROOT = Path(__file__).resolve().parents[2]


def race(requests: list[Callable[[], FlowView]]) -> list[FlowView]:
    """Run every request on its own thread, all released at the same moment."""
    start = threading.Barrier(len(requests))

    def run(request: Callable[[], FlowView]) -> FlowView:
        start.wait()
        return request()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(run, requests))


def outcomes(views: list[FlowView]) -> Counter[tuple[str | None, tuple[str, ...]]]:
    return Counter((view.state, tuple(error.code for error in view.errors)) for view in views)


def test_fifty_racing_registrations_of_one_citizen_make_exactly_one_account(
    shared_backend: Backend, ports: FakePorts
) -> None:
    users, flows = shared_backend.open()
    engine = engine_on(ports, users, flows)
    flow_ids = [at_password(engine, ports).flow_id for _ in range(RACERS)]
    password = SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)

    views = race([partial(engine.send, flow_id, password) for flow_id in flow_ids])

    assert outcomes(views) == {
        (State.COMPLETED, ()): 1,
        (State.ACCOUNT_EXISTS, ("account.exists",)): RACERS - 1,
    }
    [winner] = [view for view in views if view.state is State.COMPLETED]
    assert users.find(CITIZEN.id_number, CITIZEN.bhxh_number) == winner.account


def test_fifty_clicks_on_the_last_step_of_one_flow_make_one_account(
    shared_backend: Backend, ports: FakePorts
) -> None:
    users, flows = shared_backend.open()
    engine = engine_on(ports, users, flows)
    ready = at_password(engine, ports)
    password = SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)

    views = race([lambda: engine.send(ready.flow_id, password)] * RACERS)

    results = outcomes(views)
    assert results[State.COMPLETED, ()] == 1
    assert set(results) <= {
        (State.COMPLETED, ()),
        (State.COMPLETED, ("flow.finished",)),
        (State.COMPLETED, ("flow.conflict",)),
        (State.SETTING_PASSWORD, ("flow.conflict",)),
    }
    created = users.find(CITIZEN.id_number, CITIZEN.bhxh_number)
    assert created is not None
    assert {view.account for view in views if view.account} == {created}
    stored = typed(flows.load(ready.flow_id))
    assert stored is not None
    assert (stored.state, account_of(stored)) == (State.COMPLETED, created)


def test_fifty_confirms_of_one_code_count_it_once(
    shared_backend: Backend, ports: FakePorts
) -> None:
    users, flows = shared_backend.open()
    engine = engine_on(ports, users, flows)
    otp = at_otp(engine)
    confirm = ConfirmOtp(ports.sms.last_code())

    views = race([lambda: engine.send(otp.flow_id, confirm)] * RACERS)

    results = outcomes(views)
    assert results[State.SETTING_PASSWORD, ()] == 1
    assert set(results) <= {
        (State.SETTING_PASSWORD, ()),
        (State.SETTING_PASSWORD, ("event.not_allowed",)),
        (State.SETTING_PASSWORD, ("flow.conflict",)),
    }
    stored = typed(flows.load(otp.flow_id))
    assert stored is not None
    assert (stored.state, stored.version, stored.context.otp) == (
        State.SETTING_PASSWORD,
        otp.version + 1,
        None,
    )


def race_wrong_codes(
    backend: Backend, ports: FakePorts, policy: Policy
) -> tuple[Counter[str], FlowSnapshot]:
    """Send one wrong code from 50 threads at once; the errors reported and the flow after."""
    users, flows = backend.open()
    engine = engine_on(ports, users, flows, policy)
    otp = at_otp(engine)
    wrong = ConfirmOtp("000000" if ports.sms.last_code() != "000000" else "111111")

    views = race([lambda: engine.send(otp.flow_id, wrong)] * RACERS)

    stored = typed(flows.load(otp.flow_id))
    assert stored is not None
    assert stored.version == otp.version + stored.context.otp_failures  # one save per counted guess
    return Counter(error.code for view in views for error in view.errors), stored


def test_fifty_wrong_codes_at_once_get_no_more_guesses_than_the_limit(
    shared_backend: Backend, ports: FakePorts
) -> None:
    if shared_backend.name == "postgres-async":
        pytest.skip(
            "through one loop the 50 racers step in lockstep: each round one wins and the rest "
            "retry, so after Engine.MAX_ATTEMPTS rounds the rest answer flow.conflict before "
            "the limit is reached; that no racer gets an extra guess is the next test's"
        )
    policy = Policy()

    codes, stored = race_wrong_codes(shared_backend, ports, policy)

    assert codes["otp.invalid"] == policy.otp_max_attempts - 1
    assert codes["otp.too_many_attempts"] == 1
    assert set(codes) <= {"otp.invalid", "otp.too_many_attempts", "flow.locked", "flow.conflict"}
    assert (stored.state, stored.context.otp_failures) == (State.LOCKED, policy.otp_max_attempts)


def test_fifty_wrong_codes_at_once_lose_no_attempt(
    shared_backend: Backend, ports: FakePorts
) -> None:
    codes, stored = race_wrong_codes(shared_backend, ports, Policy(otp_max_attempts=RACERS + 1))

    assert set(codes) <= {"otp.invalid", "flow.conflict"}
    assert codes["otp.invalid"] + codes["flow.conflict"] == RACERS
    assert stored.context.otp_failures == codes["otp.invalid"]


class CountingLimiter(InMemoryRateLimiter):
    """Counts the texts each phone was charged with (hits on the send counter let through)."""

    def __init__(self, ports: FakePorts) -> None:
        super().__init__(ports.clock)
        self.sends_counted = 0
        self._counting = threading.Lock()

    def hit(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        retry_at = super().hit(key, limits)
        if key.startswith("regflow:otp_send:") and retry_at is None:
            with self._counting:
                self.sends_counted += 1
        return retry_at


def test_four_resends_at_once_send_one_text_and_count_one_against_the_phone(
    backend: Backend, ports: FakePorts
) -> None:
    users, flows = backend.open()
    limiter = CountingLimiter(ports)
    # room for the first text, one resend and one more; the three losers must not use it
    policy = Policy(rate_limits=RateLimits(otp_sends_per_phone=(RateLimit(3, timedelta(hours=1)),)))
    engine = engine_on(ports, users, flows, policy, limiter)
    otp = at_otp(engine)
    ports.clock.advance(seconds=61)

    views = race([lambda: engine.send(otp.flow_id, ResendOtp())] * 4)

    assert len(ports.sms.sent) == 2
    assert limiter.sends_counted == 2  # the first text and the one resend that went out
    assert [view.ok for view in views].count(True) == 1
    ports.clock.advance(seconds=61)
    assert engine.send(otp.flow_id, ResendOtp()).ok  # the phone's third text


# --- a process killed between load and save -------------------------------------------------


class ProcessKilledError(BaseException):
    """What the engine sees when its process dies: nothing it may catch."""


class InterruptedSave:
    """A `FlowStore` whose `save` meets something else happening first; see the subclasses."""

    def __init__(self, flows: FlowStore) -> None:
        self.flows = flows

    def load(self, flow_id: str) -> FlowSnapshot | None:
        return self.flows.load(flow_id)

    def save(self, snapshot: FlowSnapshot) -> None:
        self.flows.save(snapshot)

    def purge_expired(self, now: datetime) -> int:
        return self.flows.purge_expired(now)


class DiesBeforeSaving(InterruptedSave):
    """The process is killed after a step was computed, before it was saved."""

    def save(self, snapshot: FlowSnapshot) -> None:
        raise ProcessKilledError(snapshot.flow_id)


class PurgedBeforeSaving(InterruptedSave):
    """Housekeeping on another server deletes every flow just before this save."""

    def save(self, snapshot: FlowSnapshot) -> None:
        self.flows.purge_expired(snapshot.expires_at + timedelta(days=1))
        super().save(snapshot)


def test_a_crash_before_saving_a_step_leaves_the_last_saved_step(
    shared_backend: Backend, ports: FakePorts
) -> None:
    users, flows = shared_backend.open()
    otp = at_otp(engine_on(ports, users, flows))
    confirm = ConfirmOtp(ports.sms.last_code())
    doomed = engine_on(ports, users, DiesBeforeSaving(flows))

    with pytest.raises(ProcessKilledError):
        doomed.send(otp.flow_id, confirm)

    users, flows = shared_backend.open()  # the restarted process
    restarted = engine_on(ports, users, flows)
    assert restarted.view(otp.flow_id) == otp
    assert restarted.send(otp.flow_id, confirm).state is State.SETTING_PASSWORD


def test_a_crash_after_creating_the_account_completes_on_retry(
    shared_backend: Backend, ports: FakePorts
) -> None:
    users, flows = shared_backend.open()
    ready = at_password(engine_on(ports, users, flows), ports)
    password = SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)
    doomed = engine_on(ports, users, DiesBeforeSaving(flows))

    with pytest.raises(ProcessKilledError):
        doomed.send(ready.flow_id, password)

    users, flows = shared_backend.open()
    restarted = engine_on(ports, users, flows)
    assert restarted.view(ready.flow_id) == ready
    created = users.find(CITIZEN.id_number, CITIZEN.bhxh_number)
    assert created is not None
    view = restarted.send(ready.flow_id, password)
    assert (view.state, view.account) == (State.COMPLETED, created)


def test_a_step_racing_a_purge_finds_its_flow_gone(
    shared_backend: Backend, ports: FakePorts
) -> None:
    users, flows = shared_backend.open()
    otp = at_otp(engine_on(ports, users, flows))
    unlucky = engine_on(ports, users, PurgedBeforeSaving(flows))

    view = unlucky.send(otp.flow_id, ConfirmOtp(ports.sms.last_code()))

    assert (view.state, [error.code for error in view.errors]) == (None, ["flow.not_found"])
    assert flows.load(otp.flow_id) is None


# --- a process killed after its account was committed, then a retry with another password --

FIRST_PASSWORD = "Mật-khẩu-1A"
SECOND_PASSWORD = "Khác-hẳn-2B"


def killed(account: Account) -> None:
    raise ProcessKilledError(account.account_id)


def complete_with_second_password(backend: Backend, ports: FakePorts, flow_id: str) -> None:
    """The restarted process: the citizen sets a different password and is told it is set;
    that password, and only that one, is the one stored."""
    users, flows = backend.open()
    view = engine_on(ports, users, flows).send(
        flow_id, SetPassword(SECOND_PASSWORD, SECOND_PASSWORD)
    )

    assert view.state is State.COMPLETED, view.errors
    assert view.account is not None
    assert users.find(CITIZEN.id_number, CITIZEN.bhxh_number) == view.account
    stored = backend.password_hash(view.account.account_id)
    assert ports.hasher.verify(stored, SECOND_PASSWORD)
    assert not ports.hasher.verify(stored, FIRST_PASSWORD)


def test_after_a_crash_past_the_account_the_password_that_completes_is_stored(
    backend: Backend, ports: FakePorts
) -> None:
    users, flows = backend.open()
    ready = at_password(engine_on(ports, users, flows), ports)
    doomed = engine_on(ports, DiesAfterAdd(users, killed), flows)

    with pytest.raises(ProcessKilledError):
        doomed.send(ready.flow_id, SetPassword(FIRST_PASSWORD, FIRST_PASSWORD))

    complete_with_second_password(backend, ports, ready.flow_id)


def test_a_process_killed_after_its_account_commit_leaves_the_retry_s_password(
    shared_backend: Backend, ports: FakePorts
) -> None:
    """A real process, ended by `os._exit` the moment `UserStore.add` returned."""
    child = subprocess.run(  # noqa: S603 - our own test module, fixed arguments
        [
            sys.executable,
            "-m",
            "tests.stores.dies_after_add",
            shared_backend.name,
            shared_backend.location,
            FIRST_PASSWORD,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert child.returncode == DIED_AFTER_ADD, child.stderr
    [flow_id] = [
        line.removeprefix(FLOW_ID) for line in child.stdout.splitlines() if FLOW_ID in line
    ]
    users, flows = shared_backend.open()
    stuck = flows.load(flow_id)
    assert stuck is not None
    assert (stuck.state, stuck.context.get("account_id")) == (
        "setting_password",
        None,
    )
    assert users.find(CITIZEN.id_number, CITIZEN.bhxh_number) is not None

    complete_with_second_password(shared_backend, ports, flow_id)
