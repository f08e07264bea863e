"""Fault injection: every port call of every scenario fails in turn, and no flow is lost.

The scenarios below walk the flow's paths through the public API (start → method → form →
OTP → password, with mismatches, resends, wrong and expired codes, locks, an existing
account, an expired flow). For each, a clean run counts the port calls; then one run per
call and per kind of fault (`Fault.REFUSED`, `Fault.TIMED_OUT`) injects the fault there and
checks: the error is the port's retryable one, the flow is still loadable, its state is the
one before the step (or the step's documented failure state), no account is half-created,
a retry heals, and the flow ends where the clean run ended.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from regflow import (
    CITIZEN_BY_BHXH,
    Account,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    Event,
    FlowSnapshot,
    FlowView,
    ResendOtp,
    SetPassword,
    State,
)
from regflow.testing import (
    CITIZEN,
    FakePorts,
    Fault,
    FaultPlan,
    InMemoryRateLimiter,
    form_for,
)

PASSWORD = "Mật-khẩu-9x"
CLIENT = "203.0.113.9"

#: The retryable error each port's failure must come back as.
EXPECTED_CODE = {
    "bhxh": "bhxh.unavailable",
    "sms": "sms.unavailable",
    "users": "storage.unavailable",
    "flows": "storage.unavailable",
    "limiter": "storage.unavailable",
}

Step = Callable[[FakePorts], Event | None]


def choose(_: FakePorts) -> Event:
    return ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method)


def submit(_: FakePorts) -> Event:
    return form_for(CITIZEN)


def submit_wrong(_: FakePorts) -> Event:
    return form_for(CITIZEN, full_name="Trần Thị Bình")


def confirm(ports: FakePorts) -> Event:
    return ConfirmOtp(ports.sms.last_code())


def confirm_wrong(ports: FakePorts) -> Event:
    return ConfirmOtp(f"{(int(ports.sms.last_code()) + 1) % 1_000_000:06d}")


def resend(_: FakePorts) -> Event:
    return ResendOtp()


def password(_: FakePorts) -> Event:
    return SetPassword(PASSWORD, PASSWORD)


def wait(**delta: float) -> Step:
    def move(ports: FakePorts) -> None:
        ports.clock.advance(timedelta(**delta))

    return move


def existing_account(ports: FakePorts) -> None:
    account = Account(
        account_id="existing",
        id_number=CITIZEN.id_number,
        bhxh_number=CITIZEN.bhxh_number,
        full_name=CITIZEN.full_name,
        date_of_birth=CITIZEN.date_of_birth,
        phone=CITIZEN.phone,
        email=None,
        verification_level=2,
        source="bhxh",
        created_at=ports.clock.now(),
        flow_id="another-flow",
    )
    ports.users.add(account, "hash")


@attrs.frozen
class Scenario:
    name: str
    steps: tuple[Step, ...]
    setup: Callable[[FakePorts], None] | None = None


SCENARIOS = (
    Scenario("happy", (choose, submit, confirm, password)),
    Scenario("mismatch-then-match", (choose, submit_wrong, submit, confirm, password)),
    Scenario("resend", (choose, submit, wait(seconds=61), resend, confirm, password)),
    Scenario("wrong-otp-then-right", (choose, submit, confirm_wrong, confirm, password)),
    Scenario(
        "expired-otp",
        (choose, submit, wait(minutes=6), confirm, resend, confirm, password),
    ),
    Scenario("account-exists", (choose, submit), setup=existing_account),
    Scenario("mismatch-lock", (choose, *[submit_wrong] * 5)),
    Scenario("guessing-lock", (choose, submit, *[confirm_wrong] * 5)),
    Scenario("flow-expired", (choose, wait(minutes=31), submit)),
)


@attrs.define
class Run:
    """One run of a scenario, with or without a fault; `states` is the state after each step."""

    ports: FakePorts
    plan: FaultPlan
    engine: Engine
    flow_id: str = ""
    states: list[State | None] = attrs.Factory(list)
    faults_seen: int = 0

    @classmethod
    def of(cls, scenario: Scenario, plan: FaultPlan) -> Run:
        ports = FakePorts.seeded()
        if scenario.setup:
            scenario.setup(ports)
        engine = plan.engine(ports, limiter=InMemoryRateLimiter(ports.clock))
        return cls(ports, plan, engine)

    def stored(self) -> FlowSnapshot | None:
        return self.ports.flows.flows.get(self.flow_id)

    def stored_state(self) -> State | None:
        snapshot = self.stored()
        return None if snapshot is None else snapshot.state


def _start(run: Run) -> None:
    view = run.engine.start()
    if view.state is None:  # the first save failed: nothing was created, start again
        _check_error(run, view)
        view = run.engine.start()
    run.flow_id = view.flow_id


def _check_error(run: Run, view: FlowView) -> None:
    assert run.plan.injected is not None
    expected = EXPECTED_CODE[run.plan.injected.split(".")[0]]
    assert expected in view.error_codes(), (run.plan.injected, view.error_codes())
    assert view.retryable
    run.faults_seen += 1


def _check_no_half_account(run: Run) -> None:
    users = run.ports.users
    assert set(users.accounts) == set(users.password_hashes)
    snapshot = run.ports.flows.flows.get(run.flow_id)
    if snapshot is not None and snapshot.state is State.COMPLETED:
        assert snapshot.account is not None
        assert users.accounts[snapshot.account.account_id] == snapshot.account


def _play(scenario: Scenario, plan: FaultPlan, clean: list[State | None] | None) -> Run:
    run = Run.of(scenario, plan)
    _start(run)
    for index, step in enumerate(scenario.steps):
        event = step(run.ports)
        if event is not None:
            before, injected_before = run.stored(), plan.injected
            view = run.engine.send(run.flow_id, event, client=CLIENT)
            if plan.injected is not None and injected_before is None:
                assert clean is not None
                _recover(run, view, before, event, clean[index])
        run.states.append(run.stored_state())
    return run


def _recover(
    run: Run,
    view: FlowView,
    before: FlowSnapshot | None,
    event: Event,
    clean_after: State | None,
) -> None:
    """The checks after a faulty step, then the citizen's retry."""
    _check_error(run, view)
    _check_no_half_account(run)
    assert run.engine.view(run.flow_id).state is not None  # still loadable
    port, after = run.plan.injected or "", run.stored()
    assert after is not None
    if port == "sms.send":  # documented: the flow waits for "Gửi lại OTP", which heals it
        assert after.state is State.OTP_PENDING
        assert run.engine.send(run.flow_id, ResendOtp(), client=CLIENT).ok
        return
    if before is not None and after.version > before.version:
        # only a save whose answer was lost may have taken effect
        assert (port, run.plan.fault) == ("flows.save", Fault.TIMED_OUT)
        assert after.state is clean_after
        return
    assert before is not None
    assert after.state is before.state
    retried = run.engine.send(run.flow_id, event, client=CLIENT)
    assert not retried.retryable, (port, retried.error_codes())
    assert run.stored_state() is clean_after


def campaign(scenario: Scenario, fault: Fault) -> tuple[int, int]:
    """Inject `fault` at every port call of `scenario`; return (faults injected, flows lost)."""
    clean = _play(scenario, FaultPlan(), None)
    injected = lost = 0
    for position in range(1, len(clean.plan.calls) + 1):
        run = _play(scenario, FaultPlan(position, fault), clean.states)
        injected += run.faults_seen
        final = run.stored_state()
        lost += final != clean.states[-1]
        _check_no_half_account(run)
    return injected, lost


@pytest.mark.parametrize("fault", list(Fault), ids=[f.value for f in Fault])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_fault_at_any_port_call_loses_no_flow(scenario: Scenario, fault: Fault) -> None:
    clean = _play(scenario, FaultPlan(), None)
    injected, lost = campaign(scenario, fault)
    assert injected == len(clean.plan.calls)  # every call failed once, every fault surfaced
    assert lost == 0


def test_the_scenarios_end_where_the_flow_can_end() -> None:
    finals = {_play(s, FaultPlan(), None).states[-1] for s in SCENARIOS}
    assert finals == {
        State.COMPLETED,
        State.ACCOUNT_EXISTS,
        State.LOCKED,
        State.EXPIRED,
    }


def test_a_fault_plan_counts_every_port_call() -> None:
    clean = _play(SCENARIOS[0], FaultPlan(), None)
    ports_called = {call.split(".")[0] for call in clean.plan.calls}
    assert ports_called == {"bhxh", "sms", "users", "flows", "limiter"}
