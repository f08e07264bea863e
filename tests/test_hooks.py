"""Typed hooks: listeners hear each step after its save, a host's veto at a declared host hook
may refuse one, and the diagram and `regflow check` show the hooks that can change the path."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest
from structlog.testing import capture_logs

from regflow import (
    BHXH_REGISTRATION,
    PASSWORD_RECOVERY,
    SHIPPED_FLOWS,
    SHIPPED_OLDER_VERSIONS,
    VNEID_REGISTRATION,
    AsyncEngine,
    BeginVneid,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    SetPassword,
    State,
    VneidState,
    bootstrap,
    diagram,
)
from regflow._masking import mask_id
from regflow.analysis import Declaration, host_hooks
from regflow.engine import _hooks
from regflow.ports import (
    AccountCreated,
    FlowEnded,
    FlowEvent,
    Transitioned,
    Veto,
    VetoRequest,
)
from regflow.testing import (
    CITIZEN,
    STRONG_PASSWORD,
    FakePorts,
    RecordingListener,
    form_for,
    run_blocking,
)
from regflow.tools._cli import main

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from psycopg_pool import ConnectionPool

    from regflow import FlowView
    from regflow.ports import FlowStore, UserStore

POSTGRES_DSN = os.environ.get("REGFLOW_TEST_POSTGRES_DSN")
STRONG = SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)


def engine_on(
    ports: FakePorts,
    users: UserStore | None = None,
    flows: FlowStore | None = None,
    **settings: Any,
) -> Engine:
    """An engine of every shipped flow on the fakes (or the stores given), as a host
    builds one: no veto unless `settings` gives it."""
    return Engine(
        *SHIPPED_FLOWS,
        *SHIPPED_OLDER_VERSIONS,
        bhxh=ports.bhxh,
        sms=ports.sms,
        users=users or ports.users,
        flows=flows or ports.flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        ports={"identity": ports.identity},
        **settings,
    )


def register(engine: Engine, ports: FakePorts) -> FlowView:
    """A registration from the first screen to its last event (the password)."""
    flow_id = engine.start(BHXH_REGISTRATION.name).flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for())
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    return engine.send(flow_id, STRONG)


def steps(listener: RecordingListener) -> list[tuple[str, str, str, str | None]]:
    return [(t.trigger, t.source, t.dest, t.rule) for t in listener.of(Transitioned)]


# --- listeners ----------------------------------------------------------------------------------


def test_each_hook_point_fires_with_its_event_in_order(ports: FakePorts) -> None:
    listener = RecordingListener()
    view = register(ports.engine(listeners=[listener]), ports)

    assert view.state is State.COMPLETED
    assert view.account is not None
    assert steps(listener) == [
        ("choose_method", "choosing_method", "filling_form", None),
        ("submit_form", "filling_form", "otp_pending", None),
        ("confirm_otp", "otp_pending", "setting_password", None),
        ("set_password", "setting_password", "completed", None),
    ]
    assert [type(event) for event in listener.events[-3:]] == [
        Transitioned,
        AccountCreated,
        FlowEnded,
    ]
    [created] = listener.of(AccountCreated)
    assert created.account_id == view.account.account_id
    [ended] = listener.of(FlowEnded)
    assert (ended.state, ended.outcome) == ("completed", "flow.finished")
    assert {(e.flow, e.flow_version, e.flow_id) for e in listener.events} == {
        (BHXH_REGISTRATION.name, BHXH_REGISTRATION.version, view.flow_id)
    }
    assert {e.at for e in listener.events} == {ports.clock.now()}


def test_a_refusal_is_a_transition_that_stays_with_its_codes(ports: FakePorts) -> None:
    listener = RecordingListener()
    engine = ports.engine(listeners=[listener])
    flow_id = engine.start(BHXH_REGISTRATION.name).flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))

    engine.send(flow_id, form_for(phone="not a phone"))

    refusal = listener.of(Transitioned)[-1]
    assert (refusal.source, refusal.dest, refusal.rule) == (
        "filling_form",
        "filling_form",
        "id_form_invalid",
    )
    assert refusal.errors == ("phone.invalid",)
    assert listener.of(FlowEnded) == []


def test_a_flow_that_runs_out_of_time_ends_expired(ports: FakePorts) -> None:
    listener = RecordingListener()
    engine = ports.engine(listeners=[listener])
    flow_id = engine.start(BHXH_REGISTRATION.name).flow_id
    ports.clock.advance(engine.policy.flow_ttl)

    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))

    assert steps(listener) == [("expire", "choosing_method", "expired", "flow_expired")]
    [ended] = listener.of(FlowEnded)
    assert (ended.state, ended.outcome) == ("expired", "flow.expired")


def test_a_vneid_account_is_announced_too(ports: FakePorts) -> None:
    listener = RecordingListener()
    engine = ports.engine(VNEID_REGISTRATION, listeners=[listener])
    flow_id = engine.start(VNEID_REGISTRATION.name).flow_id
    engine.send(flow_id, BeginVneid())
    engine.send(flow_id, ports.identity.approve())

    view = engine.send(flow_id, STRONG)

    assert view.state is VneidState.COMPLETED
    assert view.account is not None
    [created] = listener.of(AccountCreated)
    assert (created.account_id, created.citizen) == (
        view.account.account_id,
        mask_id(CITIZEN.id_number),
    )


class SavedState:
    """A listener that reads the flow back from the store as it hears of each step."""

    def __init__(self, flows: FlowStore) -> None:
        self.flows = flows
        self.seen: list[tuple[str, str]] = []

    def on_event(self, event: FlowEvent) -> None:
        if isinstance(event, Transitioned):
            stored = self.flows.load(event.flow_id)
            assert stored is not None
            self.seen.append((event.dest, str(stored.state)))


def test_listeners_hear_a_step_once_it_is_saved(ports: FakePorts) -> None:
    saved = SavedState(ports.flows)

    register(ports.engine(listeners=[saved]), ports)

    assert len(saved.seen) == 4
    assert all(dest == stored for dest, stored in saved.seen)


class Broken:
    def on_event(self, event: FlowEvent) -> None:
        raise RuntimeError(f"host bug on {event.flow_id}")


def answer(view: FlowView) -> tuple[object, ...]:
    return (view.state, view.errors, view.version, view.allowed_events)


def test_a_failing_listener_is_logged_and_changes_neither_answer_nor_save() -> None:
    quiet, loud = FakePorts.seeded(), FakePorts.seeded()
    after = RecordingListener()
    expected = register(quiet.engine(), quiet)

    with capture_logs() as logs:
        view = register(loud.engine(listeners=[Broken(), after]), loud)

    assert answer(view) == answer(expected)
    assert loud.flows.load(view.flow_id) is not None
    assert len(loud.users.accounts) == 1
    assert len(after.events) == 6  # the listener after the broken one heard every event
    failed = [log for log in logs if log["event"] == "flow.listener_failed"]
    assert len(failed) == 6
    assert failed[-1] == {
        "event": "flow.listener_failed",
        "log_level": "warning",
        "flow_id": view.flow_id,
        "trigger": "set_password",
        "listener": "Broken",
        "hook": "FlowEnded",
        "error_type": "RuntimeError",
    }


def test_without_listeners_no_event_is_built(
    ports: FakePorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*_: object) -> list[FlowEvent]:
        raise AssertionError("events built for an engine without listeners")

    monkeypatch.setattr(_hooks, "step_events", never)
    monkeypatch.setattr("regflow.engine._engine.step_events", never)

    assert register(ports.engine(), ports).state is State.COMPLETED


def test_events_mask_the_citizen_and_hold_no_secret(ports: FakePorts) -> None:
    listener = RecordingListener()
    engine = ports.engine(listeners=[listener])
    flow_id = engine.start(BHXH_REGISTRATION.name).flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for())
    code = ports.sms.last_code()
    engine.send(flow_id, ConfirmOtp(code))
    engine.send(flow_id, STRONG)

    told = repr(listener.events)
    for secret in (CITIZEN.id_number, CITIZEN.bhxh_number, CITIZEN.phone, STRONG_PASSWORD, code):
        assert secret not in told
    assert {e.citizen for e in listener.events} == {None, mask_id(CITIZEN.id_number)}


class AsyncRecorder:
    def __init__(self) -> None:
        self.events: list[FlowEvent] = []

    async def on_event(self, event: FlowEvent) -> None:
        self.events.append(event)


def test_an_async_listener_runs_under_asyncengine_and_is_refused_by_engine(
    ports: FakePorts,
) -> None:
    recorder = AsyncRecorder()
    engine = ports.async_engine(listeners=[recorder])

    flow_id = run_blocking(engine.start(BHXH_REGISTRATION.name)).flow_id
    run_blocking(engine.send(flow_id, ChooseMethod("citizen", "bhxh")))

    assert [type(e) for e in recorder.events] == [Transitioned]
    with pytest.raises(ValueError, match="the listener AsyncRecorder is async"):
        engine_on(ports, listeners=[AsyncRecorder()])


# --- the veto at a host hook --------------------------------------------------------------------


def test_a_host_veto_refuses_the_account_with_its_code(ports: FakePorts) -> None:
    ports.veto.refusing = True
    listener = RecordingListener()

    view = register(ports.engine(listeners=[listener]), ports)

    assert view.state is State.SETTING_PASSWORD
    assert view.error_codes() == ("account.creation_vetoed",)
    assert not view.errors[0].retryable
    assert ports.users.accounts == {}
    assert steps(listener)[-1] == (
        "set_password",
        "setting_password",
        "setting_password",
        "account_creation_veto",
    )
    [request] = ports.veto.requests
    assert (request.hook, request.state, request.flow_id) == (
        "account_creation_veto",
        "setting_password",
        view.flow_id,
    )
    assert request.subject == CITIZEN.id_number
    assert CITIZEN.id_number not in repr(request)


def test_a_veto_that_lets_it_pass_is_asked_once_and_the_account_is_made(
    ports: FakePorts,
) -> None:
    view = register(ports.engine(), ports)

    assert view.state is State.COMPLETED
    assert [request.hook for request in ports.veto.requests] == ["account_creation_veto"]


def test_an_engine_without_a_veto_never_refuses(ports: FakePorts) -> None:
    assert register(engine_on(ports), ports).state is State.COMPLETED


def failing_veto(_: VetoRequest) -> bool:
    raise ConnectionError("fraud service down")


def test_a_veto_that_fails_is_a_retryable_hook_failure(ports: FakePorts) -> None:
    engine = engine_on(ports, vetoes={"account_creation_veto": failing_veto})

    with capture_logs() as logs:
        view = register(engine, ports)

    assert view.state is State.SETTING_PASSWORD
    assert view.error_codes() == ("hook.unavailable",)
    assert view.errors[0].retryable
    assert ports.users.accounts == {}
    failed = [log for log in logs if log["event"] == "flow.port_failed"]
    assert [(log["port"], log["error_type"]) for log in failed] == [("hook", "ConnectionError")]


async def async_veto(_: VetoRequest) -> bool:
    return True


def test_an_async_veto_runs_under_asyncengine_and_is_refused_by_engine(
    ports: FakePorts,
) -> None:
    engine = AsyncEngine(
        *SHIPPED_FLOWS,
        bhxh=ports.bhxh,
        sms=ports.sms,
        users=ports.users,
        hasher=ports.hasher,
        flows=ports.flows,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        ports={"identity": ports.identity},
        vetoes={"account_creation_veto": async_veto},
    )
    flow_id = run_blocking(engine.start(BHXH_REGISTRATION.name)).flow_id
    for event in (ChooseMethod("citizen", "bhxh"), form_for()):
        run_blocking(engine.send(flow_id, event))
    run_blocking(engine.send(flow_id, ConfirmOtp(ports.sms.last_code())))

    view = run_blocking(engine.send(flow_id, STRONG))

    assert view.error_codes() == ("account.creation_vetoed",)


class AsyncVeto:
    async def __call__(self, _: VetoRequest) -> bool:
        return False


@pytest.mark.parametrize("veto", [async_veto, AsyncVeto()], ids=["function", "callable"])
def test_the_sync_engine_refuses_an_async_veto_when_built(ports: FakePorts, veto: Veto) -> None:
    with pytest.raises(ValueError, match="the veto 'account_creation_veto' is async"):
        engine_on(ports, vetoes={"account_creation_veto": veto})


# --- what the tools show ------------------------------------------------------------------------


def test_the_diagram_marks_the_host_hook_and_no_reaction() -> None:
    mermaid = diagram.mermaid(lang="en").splitlines()
    dot = diagram.dot(lang="en")

    assert "    setting_password : ✗ Register (set the password) [⚑ account_creation_veto]" in (
        mermaid
    )
    assert "⚑ account_creation_veto" in dot
    assert sum("⚑" in line for line in mermaid) == 1
    assert "⚑" not in diagram.mermaid(PASSWORD_RECOVERY)


def test_check_lists_the_host_hooks_beside_its_findings(capsys: pytest.CaptureFixture[str]) -> None:
    [point] = host_hooks(Declaration.from_spec(BHXH_REGISTRATION))
    assert (point.hook, point.transition.source, point.transition.dest) == (
        "account_creation_veto",
        "setting_password",
        None,
    )
    assert host_hooks(Declaration.from_spec(PASSWORD_RECOVERY)) == []

    assert main(["check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [str(point), "0 finding(s) in bhxh_registration"]
    assert str(point).startswith("host hook account_creation_veto: setting_password")
    assert main(["check", "--migration"]) == 0
    assert "host hook" not in capsys.readouterr().out


# --- on the stores many app servers share -------------------------------------------------------


def check_store_run(ports: FakePorts, users: UserStore, flows: FlowStore) -> None:
    """A registration whose listener reads each step back from `flows` as it hears it."""
    saved, recorder = SavedState(flows), RecordingListener()
    engine = engine_on(ports, users, flows, listeners=[saved, recorder])

    view = register(engine, ports)

    assert view.state is State.COMPLETED
    assert view.account is not None
    assert all(dest == stored for dest, stored in saved.seen)
    assert len(saved.seen) == 4
    [created] = recorder.of(AccountCreated)
    assert users.find(CITIZEN.id_number, CITIZEN.bhxh_number) == view.account
    assert created.account_id == view.account.account_id


def test_hooks_on_sqlite(ports: FakePorts, tmp_path: Path) -> None:
    from regflow.adapters.sqlite import SqliteFlowStore, SqliteUserStore  # noqa: PLC0415

    path = tmp_path / "regflow.sqlite3"
    check_store_run(ports, SqliteUserStore(path), SqliteFlowStore(path))


@pytest.fixture
def postgres_pool() -> Iterator[ConnectionPool]:
    if not POSTGRES_DSN:
        pytest.skip("needs $REGFLOW_TEST_POSTGRES_DSN (scripts/test.sh sets it)")
    from regflow.adapters.postgres import create_schema, open_pool  # noqa: PLC0415

    pool = open_pool(POSTGRES_DSN, min_size=1, max_size=4)
    pool.wait()
    create_schema(pool)
    with pool.connection() as connection:
        connection.execute("TRUNCATE regflow_flows, regflow_id_numbers, regflow_accounts")
    yield pool
    pool.close()


def test_hooks_on_postgres(ports: FakePorts, postgres_pool: ConnectionPool) -> None:
    from regflow.adapters.postgres import PostgresFlowStore, PostgresUserStore  # noqa: PLC0415

    check_store_run(ports, PostgresUserStore(postgres_pool), PostgresFlowStore(postgres_pool))


def test_bootstrap_wires_the_hosts_listeners_and_vetoes(ports: FakePorts, tmp_path: Path) -> None:
    heard = RecordingListener()
    ports.veto.refusing = True
    engine = bootstrap(
        sms=ports.sms,
        bhxh=ports.bhxh,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        database=tmp_path / "regflow.sqlite3",
        listeners=[heard],
        vetoes={"account_creation_veto": ports.veto},
    )

    view = register(engine, ports)

    assert view.error_codes() == ("account.creation_vetoed",)
    assert steps(heard)[-1][-1] == "account_creation_veto"
