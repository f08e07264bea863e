"""Fault injection: every port call of every generated path fails in turn, and no flow is lost.

The paths are the ones `regflow.analysis` generates from the machine (every simple path to a
terminal state, a shortest path to every state and one ending in every transition), played
by the scenario runner's recipes. For each, a clean run counts the port calls its steps make;
then one run per call and per kind of fault (`Fault.REFUSED`, `Fault.TIMED_OUT`) injects the
fault there and checks: the error is the port's retryable one, the flow is still loadable,
its state is the one before the step (or the step's documented failure state), no account is
half-created, a retry heals, and the flow ends where the clean run ended. The recipes'
arrangements (other flows, a failed SMS they set up) run with the plan disarmed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import (
    SHIPPED_FLOWS,
    Engine,
    FlowSnapshot,
    FlowSpec,
    FlowView,
    Policy,
    ResendOtp,
    State,
)
from regflow.analysis import Declaration, generated_paths
from regflow.flows.registration import account_of
from regflow.flows.vneid import BeginVneid, VneidCallback
from regflow.testing import FakePorts, Fault, FaultPlan, ScenarioRunner, Scene

if TYPE_CHECKING:
    from regflow.analysis import Path

#: Every generated path of every shipped flow, with its flow.
PATHS = [
    (flow, path) for flow in SHIPPED_FLOWS for path in generated_paths(Declaration.from_spec(flow))
]
PATH_IDS = [f"{flow.name}-{path.name}" for flow, path in PATHS]

#: The retryable error each port's failure must come back as.
EXPECTED_CODE = {
    "bhxh": "bhxh.unavailable",
    "sms": "sms.unavailable",
    "users": "storage.unavailable",
    "flows": "storage.unavailable",
    "limiter": "storage.unavailable",
    "hasher": "hasher.unavailable",
    "identity": "identity.unavailable",
}


def _runner(plan: FaultPlan, flow: FlowSpec) -> ScenarioRunner:
    """The scenario runner, with its engine's ports wrapped by `plan`."""

    def engine(ports: FakePorts, policy: Policy) -> Engine:
        return plan.engine(ports, limiter=ports.limiter, policy=policy)

    return ScenarioRunner(flow=flow, engine=engine)


@attrs.define
class Run:
    """One run of a path, with or without a fault; `states` is the state after each step."""

    plan: FaultPlan
    scene: Scene
    states: list[str | None] = attrs.Factory(list)
    faults_seen: int = 0

    @property
    def ports(self) -> FakePorts:
        return self.scene.ports

    def stored(self) -> FlowSnapshot | None:
        return self.ports.flows.flows.get(self.scene.flow_id)

    def stored_state(self) -> str | None:
        snapshot = self.stored()
        return None if snapshot is None else snapshot.state

    def send(self, event: object) -> FlowView:
        """Send one event of the path's own flow, the plan armed meanwhile."""
        self.plan.armed = True
        try:
            return self.scene.send(event)
        finally:
            self.plan.armed = False


def _check_error(run: Run, view: FlowView) -> None:
    assert run.plan.injected is not None
    expected = EXPECTED_CODE[run.plan.injected.split(".")[0]]
    assert expected in view.error_codes(), (run.plan.injected, view.error_codes())
    assert view.retryable
    run.faults_seen += 1


def _check_no_half_account(run: Run) -> None:
    users = run.ports.users
    flows = run.ports.flows.flows
    # every account a BHXH registration made has its password (a VNeID one may have none)
    with_password = {
        i for i, a in users.accounts.items() if a.source == "bhxh" and a.flow_id in flows
    }
    assert with_password <= set(users.password_hashes) <= set(users.accounts)
    snapshot = run.stored()
    if snapshot is not None and snapshot.state is State.COMPLETED:
        account = account_of(snapshot)
        assert account is not None
        assert users.accounts[account.account_id] == account


def _play(flow: FlowSpec, path: Path, plan: FaultPlan, clean: list[str | None] | None) -> Run:
    plan.armed = False  # the scene's start and every recipe's arrangement run unharmed
    runner = _runner(plan, flow)
    run = Run(plan, runner.scene())
    for index, step in enumerate(path.steps):
        event = runner.arrange(run.scene, step)
        before, injected_before, calls_before = run.stored(), plan.injected, len(plan.calls)
        view = run.send(event)
        if plan.injected is not None and injected_before is None:
            assert clean is not None
            if _code_spent(run, view, event, plan.calls[calls_before:]):
                assert not run.send(runner.arrange(run.scene, step)).retryable  # signed in again
                assert run.stored_state() is clean[index]
            else:
                _recover(run, view, before, event, clean[index])
        run.states.append(run.stored_state())
    return run


def _recover(
    run: Run,
    view: FlowView,
    before: FlowSnapshot | None,
    event: object,
    clean_after: str | None,
) -> None:
    """The checks after a faulty step, then the citizen's retry."""
    if not view.retryable and _quiet_text_failure(run):
        return
    if not view.retryable:  # the engine read its lost write back and carried on
        assert (run.plan.injected, run.plan.fault) == ("flows.save", Fault.TIMED_OUT)
        assert run.stored_state() is clean_after
        run.faults_seen += 1
        return
    _check_error(run, view)
    _check_no_half_account(run)
    assert run.scene.engine.view(run.scene.flow_id).state is not None  # still loadable
    port, after = run.plan.injected or "", run.stored()
    assert after is not None
    assert before is not None
    if port == "sms.send" or (port == "limiter.hit" and after.version > before.version):
        # documented: a text not sent (or not counted) leaves the flow waiting for
        # "Gửi lại OTP", which heals it
        assert after.state == State.OTP_PENDING  # any flow's code screen
        assert after.context.otp is None
        assert run.send(ResendOtp()).ok
        return
    if after.version > before.version:
        # only a save whose answer was lost may have taken effect
        assert (port, run.plan.fault) == ("flows.save", Fault.TIMED_OUT)
        assert after.state is clean_after
        return
    assert after.state is before.state
    retried = run.send(event)
    assert not retried.retryable, (port, retried.error_codes())
    assert run.stored_state() is clean_after


def _code_spent(run: Run, view: FlowView, event: object, calls: list[str]) -> bool:
    """Documented: a callback that fails once the platform redeemed its code (the answer
    lost, or a later call of the step failing) has spent it, as a code works once: the
    retry is refused (``vneid.code_rejected``) and the citizen signs in again."""
    if not (isinstance(event, VneidCallback) and view.retryable):
        return False
    *earlier, failed = calls
    redeemed = "identity.exchange" in earlier or (
        (failed, run.plan.fault) == ("identity.exchange", Fault.TIMED_OUT)
    )
    if not redeemed:
        return False
    _check_error(run, view)
    assert run.send(event).error_codes() == ("vneid.code_rejected",)
    assert run.send(BeginVneid()).ok
    return True


def _quiet_text_failure(run: Run) -> bool:
    """Documented: a probed flow whose text was not sent (or not counted) says nothing, as a
    decoy would; it keeps its code and cooldown, and "Gửi lại OTP" after the cooldown heals."""
    after = run.stored()
    if (
        after is None
        or not after.context.probed
        or run.plan.injected not in {"sms.send", "limiter.hit"}
    ):
        return False
    assert after.context.otp is not None
    run.ports.clock.advance(run.scene.engine.policy.otp_resend_after)
    assert run.send(ResendOtp()).ok
    run.faults_seen += 1
    return True


def campaign(flow: FlowSpec, path: Path, fault: Fault) -> tuple[int, int, int]:
    """Inject `fault` at every port call of `path`'s steps; (calls, faults seen, flows lost)."""
    clean = _play(flow, path, FaultPlan(), None)
    injected = lost = 0
    for position in range(1, len(clean.plan.calls) + 1):
        run = _play(flow, path, FaultPlan(position, fault), clean.states)
        injected += run.faults_seen
        lost += run.stored_state() != clean.states[-1]
        _check_no_half_account(run)
    return len(clean.plan.calls), injected, lost


@pytest.mark.parametrize("fault", list(Fault), ids=[f.value for f in Fault])
@pytest.mark.parametrize(("flow", "path"), PATHS, ids=PATH_IDS)
def test_a_fault_at_any_port_call_loses_no_flow(flow: FlowSpec, path: Path, fault: Fault) -> None:
    calls, injected, lost = campaign(flow, path, fault)
    assert calls > 0
    assert injected == calls  # every call failed once, every fault surfaced
    assert lost == 0


def test_the_clean_runs_take_each_path_as_generated() -> None:
    for flow, path in PATHS:
        states = _play(flow, path, FaultPlan(), None).states
        assert states == list(path.states), path.name  # a StrEnum member equals its name


def test_the_paths_end_in_every_terminal_state_and_call_every_port() -> None:
    for flow in SHIPPED_FLOWS:
        finals = {path.end for spec, path in PATHS if spec is flow}
        assert finals >= set(flow.terminal), flow.name
    ports_called = {
        call.split(".")[0]
        for flow, path in PATHS
        for call in _play(flow, path, FaultPlan(), None).plan.calls
    }
    assert ports_called == set(EXPECTED_CODE)


@pytest.mark.parametrize("fault", list(Fault), ids=[f.value for f in Fault])
def test_a_fault_at_the_start_creates_no_half_flow(fault: Fault) -> None:
    ports = FakePorts.seeded()
    engine = FaultPlan(1, fault).engine(ports)

    failed = engine.start("bhxh_registration")
    again = engine.start("bhxh_registration")

    assert failed.state is None
    assert failed.error_codes() == ("storage.unavailable",)
    assert again.state is State.CHOOSING_METHOD
    assert engine.view(again.flow_id).state is State.CHOOSING_METHOD
