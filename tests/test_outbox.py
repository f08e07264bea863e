"""The outbox: a step's text is saved with the step and sent by a worker, once.

Every test runs on SQLite and on PostgreSQL (`$REGFLOW_TEST_POSTGRES_DSN`); the crash tests
kill a process (`tests.outbox_crash`) at each point of a text's way and count, at a
provider that honours idempotency keys, the texts the citizen's phone got.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
import httpx
import pytest
import structlog

from regflow import (
    BHXH_REGISTRATION,
    SHIPPED_FLOWS,
    AsyncEngine,
    Backoff,
    ChooseMethod,
    ConfirmOtp,
    Delivery,
    Engine,
    Policy,
    RateLimit,
    RateLimits,
    SetPassword,
    SmsMessage,
    StaleFlowError,
    State,
    bootstrap,
    deliver_outbox,
    event_of,
    mask_id,
    mask_phone,
    open_stores,
)
from regflow.adapters.http import AsyncHttpSmsGateway, HttpSettings, HttpSmsGateway
from regflow.adapters.memory import (
    InMemoryFlowStore,
    InMemoryOutbox,
    InMemoryRateLimiter,
    InMemoryUserStore,
)
from regflow.adapters.postgres import (
    PostgresFlowStore,
    PostgresOutbox,
    PostgresUserStore,
    create_schema,
    open_pool,
)
from regflow.adapters.postgres_async import (
    AsyncPostgresFlowStore,
    AsyncPostgresOutbox,
    AsyncPostgresUserStore,
    open_async_pool,
)
from regflow.adapters.sqlite import SqliteDatabase, SqliteFlowStore, SqliteOutbox, SqliteUserStore
from regflow.ports import (
    AccountCreated,
    FlowEnded,
    FlowEvent,
    FlowStore,
    Outbox,
    OutboxMessage,
    Transitioned,
    UserStore,
)
from regflow.testing import (
    CITIZEN,
    STRONG_PASSWORD,
    FakeClock,
    FakePorts,
    RecordingListener,
    SmsInbox,
    form_for,
    run_blocking,
)
from regflow.tools._cli import main
from regflow.tools._outbox_run import handler, run, sms_gateway

from .outbox_crash import DIED, FLOW_ID, POINTS, CountingProvider
from .stores.conftest import NO_POSTGRES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from regflow import FlowSnapshot, FlowView

POSTGRES_DSN = os.environ.get("REGFLOW_TEST_POSTGRES_DSN")
ROOT = Path(__file__).parent.parent
LEASE = timedelta(minutes=2)


@attrs.frozen
class Stores:
    name: str
    users: UserStore
    flows: FlowStore
    outbox: Outbox
    #: Where another process finds them: a file or a DSN.
    location: str
    #: The outbox rows as (idempotency_key, status, attempts), read around the port.
    rows: Any


def _sqlite(folder: Path) -> Stores:
    path = folder / "regflow.sqlite3"
    database = SqliteDatabase(path)

    def rows() -> list[tuple[str, str, int]]:
        with database.connect() as connection:
            found = connection.execute(_ROWS).fetchall()
        return [tuple(row) for row in found]

    return Stores(
        "sqlite",
        SqliteUserStore(database),
        SqliteFlowStore(database),
        SqliteOutbox(database),
        str(path),
        rows,
    )


_ROWS = "SELECT idempotency_key, status, attempts FROM regflow_outbox ORDER BY idempotency_key"


@pytest.fixture(scope="module")
def postgres_pool() -> Iterator[Any]:
    if not POSTGRES_DSN:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true needs the PostgreSQL tests to run: " + NO_POSTGRES)
        pytest.skip(NO_POSTGRES)
    pool = open_pool(POSTGRES_DSN, max_size=4)
    create_schema(pool)
    yield pool
    pool.close()


def _postgres(pool: Any) -> Stores:
    with pool.connection() as connection:
        connection.execute(
            "TRUNCATE regflow_outbox, regflow_flows, regflow_id_numbers, regflow_accounts"
        )

    def rows() -> list[tuple[str, str, int]]:
        with pool.connection() as connection:
            return [tuple(row) for row in connection.execute(_ROWS).fetchall()]

    assert POSTGRES_DSN is not None
    return Stores(
        "postgres",
        PostgresUserStore(pool),
        PostgresFlowStore(pool),
        PostgresOutbox(pool),
        POSTGRES_DSN,
        rows,
    )


def _memory() -> Stores:
    flows = InMemoryFlowStore()
    outbox = InMemoryOutbox(flows)

    def rows() -> list[tuple[str, str, int]]:
        return sorted((key, row.status, row.attempts) for key, row in outbox.rows.items())

    return Stores("memory", InMemoryUserStore(), flows, outbox, "", rows)


def _opened(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    if request.param == "memory":
        return _memory()
    if request.param == "sqlite":
        return _sqlite(tmp_path)
    return _postgres(request.getfixturevalue("postgres_pool"))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    """Every outbox regflow ships."""
    return _opened(request, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def shared_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    """The outboxes another process can share."""
    return _opened(request, tmp_path)


def _engine(ports: FakePorts, stores: Stores, **settings: Any) -> Engine:
    return Engine(
        *SHIPPED_FLOWS,
        bhxh=ports.bhxh,
        sms=ports.sms,
        users=stores.users,
        flows=stores.flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        ports={"identity": ports.identity},
        outbox=stores.outbox,
        **settings,
    )


def _at_otp(engine: Engine) -> FlowView:
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    return engine.send(flow_id, form_for())


def _deliver(ports: FakePorts, stores: Stores, **settings: Any) -> Delivery:
    return deliver_outbox(stores.outbox, ports.sms, clock=ports.clock, **settings)


# --- a text goes out once, after the save -------------------------------------------------


def test_a_steps_text_waits_in_the_outbox_and_the_worker_sends_it_once(stores: Stores) -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, stores)
    view = _at_otp(engine)
    key = f"{view.flow_id}:{view.version}:0"

    assert (view.state, view.errors, ports.sms.sent) == (State.OTP_PENDING, (), [])
    assert stores.rows() == [(key, "pending", 0)]

    assert _deliver(ports, stores) == Delivery(delivered=1)
    assert _deliver(ports, stores) == Delivery()
    [sent] = ports.sms.sent
    assert (sent.phone, sent.message.idempotency_key) == ("+84912345678", key)
    assert stores.rows() == []  # delivered: the row and its code are gone
    confirmed = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code()))
    assert confirmed.state is State.SETTING_PASSWORD


def test_without_an_outbox_the_text_goes_out_inline_and_nothing_is_queued(
    stores: Stores,
) -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, attrs.evolve(stores, outbox=None))  # type: ignore[arg-type]
    _at_otp(engine)
    assert len(ports.sms.sent) == 1
    assert stores.rows() == []


def test_an_app_server_with_an_outbox_needs_no_sms_gateway(tmp_path: Path) -> None:
    stores = _sqlite(tmp_path)
    ports = FakePorts.seeded()
    given: dict[str, Any] = {
        "bhxh": ports.bhxh,
        "users": stores.users,
        "hasher": ports.hasher,
        "flows": stores.flows,
        "clock": ports.clock,
        "otp_secret": ports.otp_secret,
    }

    with pytest.raises(ValueError, match=r"needs the port\(s\) sms"):
        Engine(BHXH_REGISTRATION, **given)
    engine = Engine(BHXH_REGISTRATION, outbox=stores.outbox, **given)
    assert _at_otp(engine).state is State.OTP_PENDING


class _AsyncOutbox:
    """An `AsyncOutboxStore` over a sync one, as an async adapter would be."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def save_with(self, snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]) -> None:
        self.outbox.save_with(snapshot, messages)


@pytest.mark.parametrize("wrap", [lambda outbox: outbox, _AsyncOutbox], ids=["sync", "async"])
def test_async_engine_saves_the_text_with_the_step_too(
    tmp_path: Path, wrap: Callable[[Outbox], Any]
) -> None:
    stores, ports = _sqlite(tmp_path), FakePorts.seeded()
    engine = AsyncEngine(
        BHXH_REGISTRATION,
        bhxh=ports.bhxh,
        users=stores.users,
        flows=stores.flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        outbox=wrap(stores.outbox),
    )

    view = run_blocking(_at_otp_awaited(engine))
    assert stores.rows() == [(f"{view.flow_id}:{view.version}:0", "pending", 0)]


async def _at_otp_awaited(engine: AsyncEngine) -> FlowView:
    flow_id = (await engine.start("bhxh_registration")).flow_id
    await engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    return await engine.send(flow_id, form_for())


def test_the_async_postgres_outbox_saves_the_text_with_the_step(postgres_pool: Any) -> None:
    stores, ports = _postgres(postgres_pool), FakePorts.seeded()
    assert POSTGRES_DSN is not None

    async def at_otp() -> FlowView:
        pool = await open_async_pool(POSTGRES_DSN)
        try:
            engine = AsyncEngine(
                BHXH_REGISTRATION,
                bhxh=ports.bhxh,
                users=AsyncPostgresUserStore(pool),
                flows=AsyncPostgresFlowStore(pool),
                hasher=ports.hasher,
                clock=ports.clock,
                otp_secret=ports.otp_secret,
                outbox=AsyncPostgresOutbox(pool),
            )
            return await _at_otp_awaited(engine)
        finally:
            await pool.close()

    view = run_blocking(at_otp())
    assert stores.rows() == [(f"{view.flow_id}:{view.version}:0", "pending", 0)]
    assert deliver_outbox(stores.outbox, ports.sms, clock=ports.clock) == Delivery(delivered=1)


def test_the_sync_engine_refuses_an_async_outbox(tmp_path: Path) -> None:
    stores = _sqlite(tmp_path)
    async_outbox: Any = _AsyncOutbox(stores.outbox)  # what a host's wiring mistake gives
    with pytest.raises(ValueError, match="the outbox port is async"):
        _engine(FakePorts.seeded(), attrs.evolve(stores, outbox=async_outbox))


def test_bootstrap_takes_the_outbox(tmp_path: Path) -> None:
    ports = FakePorts.seeded()
    with open_stores(tmp_path / "regflow.sqlite3") as opened:
        engine = bootstrap(
            bhxh=ports.bhxh,
            sms=ports.sms,
            otp_secret=ports.otp_secret,
            users=opened.users,
            flows=opened.flows,
            hasher=ports.hasher,
            outbox=opened.outbox,
        )
        _at_otp(engine)
        assert ports.sms.sent == []
        assert opened.outbox is not None
        assert deliver_outbox(opened.outbox, ports.sms) == Delivery(delivered=1)


def test_a_stale_save_stores_no_message_either(stores: Stores) -> None:
    ports = FakePorts.seeded()
    view = _at_otp(_engine(ports, stores))
    snapshot = stores.flows.load(view.flow_id)
    assert snapshot is not None
    message = OutboxMessage(idempotency_key="k:1:0", kind="sms", payload={})

    with pytest.raises(StaleFlowError):
        stores.outbox.save_with(attrs.evolve(snapshot, version=2), [message])
    assert [row[0] for row in stores.rows()] == [f"{view.flow_id}:{view.version}:0"]


# --- the limits across flows count before the save -----------------------------------------


def _limited(ports: FakePorts, stores: Stores, limiter: Any = None) -> Engine:
    policy = Policy(rate_limits=RateLimits(otp_sends_per_phone=(RateLimit(1, timedelta(hours=1)),)))
    return _engine(
        ports, stores, policy=policy, limiter=limiter or InMemoryRateLimiter(ports.clock)
    )


def test_a_phone_without_room_gets_nothing_queued_and_the_form_to_submit_again(
    stores: Stores,
) -> None:
    ports = FakePorts.seeded()
    engine = _limited(ports, stores)
    _at_otp(engine)
    refused = _at_otp(engine)

    assert refused.error_codes() == ("otp.send_rate_limited",)
    assert refused.state is State.FILLING_FORM
    assert len(stores.rows()) == 1


class _NoRoomToSend(InMemoryRateLimiter):
    """Room when the flow looks (`peek`), none when the engine counts the text (`hit`): a
    phone another flow used up meanwhile."""

    def hit(self, key: str, limits: Any) -> Any:
        if key.startswith("regflow:otp_send:"):
            return self._clock.now() + timedelta(hours=1)
        return super().hit(key, limits)


def test_a_probed_flows_quiet_text_without_room_says_nothing_and_queues_nothing(
    stores: Stores,
) -> None:
    ports = FakePorts.seeded()
    policy = Policy(rate_limits=RateLimits(mismatches_per_bhxh_number=(RateLimit(1, LEASE),)))
    engine = _engine(ports, stores, policy=policy, limiter=_NoRoomToSend(ports.clock))
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for(full_name="NGUYEN VAN SAI"))  # the number's one mismatch
    probed = _at_otp(engine)

    assert (probed.state, probed.error_codes()) == (State.OTP_PENDING, ("bhxh.number_probed",))
    assert stores.rows() == []
    kept = stores.flows.load(probed.flow_id)
    assert kept is not None
    context = kept.context if isinstance(kept.context, dict) else attrs.asdict(kept.context)
    assert context["otp"] is not None  # as a decoy's: the send is not undone


def test_the_worker_logs_no_code_and_no_phone(stores: Stores) -> None:
    ports = FakePorts.seeded()
    _at_otp(_engine(ports, stores))
    ports.sms.fail_next()
    with structlog.testing.capture_logs() as logs:
        _deliver(ports, stores, max_attempts=1)  # a dead letter
    _at_otp(_engine(ports, stores))
    with structlog.testing.capture_logs() as more:
        _deliver(ports, stores)
    code = ports.sms.last_code()

    assert [log["event"] for log in [*logs, *more]] == ["outbox.dead_letter", "outbox.delivered"]
    assert all(code not in repr(log) and "912345678" not in repr(log) for log in [*logs, *more])
    assert code not in repr(ports.sms.sent[0].message)


# --- retries, backoff, dead letters ---------------------------------------------------------


def test_a_failed_send_is_retried_after_its_backoff(stores: Stores) -> None:
    ports = FakePorts.seeded()
    _at_otp(_engine(ports, stores))
    ports.sms.fail_next()
    backoff = Backoff(first=timedelta(seconds=10))

    assert _deliver(ports, stores, backoff=backoff, jitter=lambda: 0.0) == Delivery(retried=1)
    ports.clock.advance(seconds=4)
    assert _deliver(ports, stores, backoff=backoff) == Delivery()  # due after 5 s
    ports.clock.advance(seconds=1)
    assert _deliver(ports, stores, backoff=backoff) == Delivery(delivered=1)
    assert len(ports.sms.sent) == 1


def test_after_its_last_attempt_a_message_is_a_dead_letter(stores: Stores) -> None:
    ports = FakePorts.seeded()
    view = _at_otp(_engine(ports, stores))
    ports.sms.fail_next(5)

    assert _deliver(ports, stores, max_attempts=2) == Delivery(retried=1)
    ports.clock.advance(seconds=10)
    assert _deliver(ports, stores, max_attempts=2) == Delivery(dead=1)
    ports.clock.advance(days=1)
    assert _deliver(ports, stores, max_attempts=2) == Delivery()
    assert stores.rows() == [(f"{view.flow_id}:{view.version}:0", "dead", 2)]


def test_a_text_whose_code_has_expired_is_not_sent(stores: Stores) -> None:
    ports = FakePorts.seeded()
    view = _at_otp(_engine(ports, stores))
    ports.sms.fail_next()
    _deliver(ports, stores)
    ports.clock.advance(minutes=5)  # the OTP's lifetime (Policy.otp_ttl)

    assert _deliver(ports, stores) == Delivery(expired=1)
    assert ports.sms.sent == []
    assert stores.rows() == [(f"{view.flow_id}:{view.version}:0", "dead", 2)]


def test_a_text_due_just_before_its_code_expires_is_sent(stores: Stores) -> None:
    ports = FakePorts.seeded()
    _at_otp(_engine(ports, stores))
    ports.clock.advance(minutes=5, seconds=-1)
    assert _deliver(ports, stores) == Delivery(delivered=1)


def test_the_backoff_doubles_up_to_its_cap_and_jitter_takes_up_to_half_off() -> None:
    backoff = Backoff(first=timedelta(seconds=10), cap=timedelta(minutes=1))

    assert backoff.delay(1, 0.0) == timedelta(seconds=5)
    assert backoff.delay(1, 0.5) == timedelta(seconds=7.5)
    assert backoff.delay(2, 0.0) == timedelta(seconds=10)
    assert backoff.delay(3, 0.99) < backoff.delay(4, 0.0) * 2
    assert backoff.delay(10**6, 0.999) < timedelta(minutes=1)  # capped, and no overflow


@pytest.mark.parametrize(
    "settings", [{"limit": 0}, {"max_attempts": 0}, {"lease": timedelta(0)}], ids=str
)
def test_settings_that_would_deliver_nothing_or_forever_are_refused(
    tmp_path: Path, settings: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="deliver_outbox needs"):
        deliver_outbox(_sqlite(tmp_path).outbox, SmsInbox(), **settings)


# --- a host's kinds of message ---------------------------------------------------------------


def _queued(stores: Stores, *messages: OutboxMessage) -> None:
    """`messages` saved with a flow's next step, as a host's hook would have them."""
    ports = FakePorts.seeded()
    engine = _engine(ports, attrs.evolve(stores, outbox=None))  # type: ignore[arg-type]
    snapshot = stores.flows.load(engine.start("bhxh_registration").flow_id)
    assert snapshot is not None
    stores.outbox.save_with(attrs.evolve(snapshot, version=2), messages)


def test_a_hosts_kind_goes_to_its_handler_and_one_without_a_handler_waits(
    stores: Stores,
) -> None:
    welcome = OutboxMessage(idempotency_key="f:2:0", kind="welcome", payload={"to": "a"})
    unknown = OutboxMessage(idempotency_key="f:2:1", kind="unknown", payload={})
    _queued(stores, welcome, unknown)
    handled: list[OutboxMessage] = []

    done = deliver_outbox(stores.outbox, handlers={"welcome": handled.append}, clock=FakeClock())

    assert done == Delivery(delivered=1, retried=1)
    assert handled == [welcome]
    assert dict(handled[0].payload) == {"to": "a"}


def test_a_text_without_a_gateway_waits_for_one(stores: Stores) -> None:
    ports = FakePorts.seeded()
    _at_otp(_engine(ports, stores))
    assert deliver_outbox(stores.outbox, None, clock=ports.clock) == Delivery(retried=1)


# --- durable listener events: a notice saved with its step ------------------------------------

STRONG = SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)
EVERY_EVENT = (Transitioned, AccountCreated, FlowEnded)


@attrs.define
class _Receiver:
    """A host's handler of notices (a CRM's API): it fails its first `failures` calls."""

    failures: int = 0
    got: list[OutboxMessage] = attrs.Factory(list)
    calls: list[str] = attrs.Factory(list)

    def __call__(self, message: OutboxMessage) -> None:
        self.calls.append(message.idempotency_key)
        if len(self.calls) <= self.failures:
            raise ConnectionError("the CRM is down")
        self.got.append(message)


def _registered(
    engine: Engine, ports: FakePorts, stores: Stores, **handlers: _Receiver
) -> FlowView:
    """A registration to its account; the worker sends its text (and whatever `handlers`
    take) on the way."""
    flow_id = _at_otp(engine).flow_id
    _deliver(ports, stores, handlers=handlers)
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    return engine.send(flow_id, STRONG)


def _common(field: attrs.Attribute[Any], _: object) -> bool:
    return field.name != "account_id"


def test_an_account_notice_is_saved_with_its_step_and_delivered_once(stores: Stores) -> None:
    ports, heard = FakePorts.seeded(), RecordingListener()
    engine = _engine(ports, stores, durable_events=(AccountCreated, FlowEnded), listeners=[heard])
    view = _registered(engine, ports, stores)
    assert view.account is not None
    receiver = _Receiver()
    handlers = {"account_created": receiver, "flow_ended": receiver}

    assert _deliver(ports, stores, handlers=handlers) == Delivery(delivered=2)
    assert _deliver(ports, stores, handlers=handlers) == Delivery()

    key = f"{view.flow_id}:{view.version}"
    got = sorted(receiver.got, key=lambda message: message.idempotency_key)  # in no order
    assert [(m.idempotency_key, m.kind) for m in got] == [
        (f"{key}:0", "account_created"),
        (f"{key}:1", "flow_ended"),
    ]
    created, ended = (event_of(message) for message in got)
    assert created == heard.of(AccountCreated)[0]  # the inline listener heard it too
    assert isinstance(created, AccountCreated)
    assert created.account_id == view.account.account_id
    assert created.citizen == mask_id(CITIZEN.id_number)
    common = attrs.asdict(created, filter=_common, recurse=False)
    assert ended == FlowEnded(**common, state="completed", outcome="flow.finished")
    assert stores.rows() == []


def test_a_notice_holds_no_password_code_or_whole_number(stores: Stores) -> None:
    ports, receiver = FakePorts.seeded(), _Receiver()
    handlers = dict.fromkeys(("transitioned", "account_created", "flow_ended"), receiver)
    engine = _engine(ports, stores, durable_events=EVERY_EVENT)

    _registered(engine, ports, stores, **handlers)
    _deliver(ports, stores, handlers=handlers)

    assert sorted(m.kind for m in receiver.got) == [
        "account_created",
        "flow_ended",
        *["transitioned"] * 4,
    ]
    stored = repr([dict(message.payload) for message in receiver.got])
    for secret in (STRONG_PASSWORD, ports.sms.last_code(), CITIZEN.id_number, CITIZEN.phone):
        assert secret not in stored
    assert mask_phone(CITIZEN.phone) not in stored  # no phone at all, even masked


def _notice_delivery(ports: FakePorts, stores: Stores, receiver: _Receiver) -> Delivery:
    """One run of a worker whose notices go to `receiver`, giving up after two attempts."""
    handlers = {"account_created": receiver}
    return _deliver(ports, stores, handlers=handlers, max_attempts=2, jitter=lambda: 0.0)


def test_a_failed_notice_is_retried_under_the_same_key(stores: Stores) -> None:
    ports, flaky = FakePorts.seeded(), _Receiver(failures=1)
    _registered(_engine(ports, stores, durable_events=(AccountCreated,)), ports, stores)

    assert _notice_delivery(ports, stores, flaky) == Delivery(retried=1)
    ports.clock.advance(seconds=5)  # the backoff's first wait, jittered to its half
    assert _notice_delivery(ports, stores, flaky) == Delivery(delivered=1)

    [key] = set(flaky.calls)
    assert len(flaky.calls) == 2
    assert [message.idempotency_key for message in flaky.got] == [key]


def test_a_notice_that_keeps_failing_is_a_dead_letter(stores: Stores) -> None:
    ports, down = FakePorts.seeded(), _Receiver(failures=99)
    _registered(_engine(ports, stores, durable_events=(AccountCreated,)), ports, stores)

    assert _notice_delivery(ports, stores, down) == Delivery(retried=1)
    ports.clock.advance(seconds=5)
    assert _notice_delivery(ports, stores, down) == Delivery(dead=1)
    ports.clock.advance(days=1)
    assert _notice_delivery(ports, stores, down) == Delivery()
    assert down.got == []
    assert [row[1:] for row in stores.rows()] == [("dead", 2)]


class _RacingOutbox:
    """An outbox whose next `save_with`, once `armed`, loses a race (another request saves
    the flow first) or fails (the database is down), and stores nothing."""

    def __init__(self, stores: Stores, failure: str) -> None:
        self.stores, self.failure, self.armed = stores, failure, False

    def save_with(self, snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]) -> None:
        if self.armed:
            self.armed = False
            if self.failure == "down":
                raise ConnectionError("the database is down")
            stored = self.stores.flows.load(snapshot.flow_id)
            assert stored is not None
            self.stores.flows.save(attrs.evolve(stored, version=stored.version + 1))
        self.stores.outbox.save_with(snapshot, messages)


@pytest.mark.parametrize("failure", ["stale", "down"])
def test_a_step_whose_save_fails_records_no_notice_and_its_retry_one(
    stores: Stores, failure: str
) -> None:
    ports, receiver = FakePorts.seeded(), _Receiver()
    racing = _RacingOutbox(stores, failure)
    racing_stores = attrs.evolve(stores, outbox=racing)  # type: ignore[arg-type]
    engine = _engine(ports, racing_stores, durable_events=(AccountCreated,))
    flow_id = _at_otp(engine).flow_id
    _deliver(ports, stores)
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    racing.armed = True

    view = engine.send(flow_id, STRONG)
    if failure == "down":  # the citizen is told to try again, and does
        assert view.error_codes() == ("storage.unavailable",)
        assert stores.rows() == []
        view = engine.send(flow_id, STRONG)

    assert view.state is State.COMPLETED
    assert _deliver(ports, stores, handlers={"account_created": receiver}) == Delivery(delivered=1)
    assert [m.idempotency_key for m in receiver.got] == [f"{flow_id}:{view.version}:0"]


@pytest.mark.parametrize(
    ("durable", "saved"), [((AccountCreated,), False), ((Transitioned,), True)]
)
def test_a_step_that_changes_nothing_is_saved_only_to_record_a_durable_event(
    stores: Stores, durable: tuple[type[FlowEvent], ...], saved: bool
) -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, stores, durable_events=durable)
    flow_id = engine.start("bhxh_registration").flow_id
    before = engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    queued = len(stores.rows())  # the choice's own transition, if durable

    refused = engine.send(flow_id, form_for(phone="not a phone"))

    assert refused.error_codes() == ("phone.invalid",)
    assert refused.version == before.version + saved
    assert len(stores.rows()) == queued + saved


@pytest.mark.parametrize(
    ("kind", "payload"), [("sms", {}), ("account_created", {"flow": "bhxh_registration"})]
)
def test_a_message_that_is_no_event_is_not_read_as_one(kind: str, payload: dict[str, str]) -> None:
    message = OutboxMessage(idempotency_key="f:2:0", kind=kind, payload=payload)
    with pytest.raises((KeyError, cattrs.BaseValidationError)):
        event_of(message)


def test_durable_events_need_an_outbox_and_are_listener_events(tmp_path: Path) -> None:
    ports = FakePorts.seeded()
    no_outbox = attrs.evolve(_memory(), outbox=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outbox"):
        _engine(ports, no_outbox, durable_events=(AccountCreated,))
    with pytest.raises(ValueError, match="AccountCreated"):
        _engine(ports, _memory(), durable_events=(FlowEvent,))
    with pytest.raises(ValueError, match="outbox"):
        bootstrap(
            sms=ports.sms,
            otp_secret=ports.otp_secret,
            database=tmp_path / "regflow.sqlite3",
            durable_events=(FlowEnded,),
        )


def test_async_engine_records_durable_events_with_the_step_too() -> None:
    ports, stores, receiver = FakePorts.seeded(), _memory(), _Receiver()
    engine = AsyncEngine(
        *SHIPPED_FLOWS,
        bhxh=ports.bhxh,
        users=stores.users,
        flows=stores.flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        ports={"identity": ports.identity},
        outbox=stores.outbox,
        durable_events=(Transitioned,),
    )

    flow_id = run_blocking(engine.start("bhxh_registration")).flow_id
    view = run_blocking(engine.send(flow_id, ChooseMethod("citizen", "bhxh")))

    assert _deliver(ports, stores, handlers={"transitioned": receiver}) == Delivery(delivered=1)
    [chosen] = [event_of(message) for message in receiver.got]
    assert isinstance(chosen, Transitioned)
    assert (chosen.flow_id, chosen.trigger, chosen.dest) == (
        view.flow_id,
        "choose_method",
        "filling_form",
    )


# --- leases: two workers never send one message ----------------------------------------------


def test_two_workers_claiming_at_once_never_share_a_message(stores: Stores) -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, stores)
    for _ in range(12):
        _at_otp(engine)
        ports.clock.advance(minutes=61)  # the phone's texts of the last hour
    start = threading.Barrier(2)
    claimed: list[list[str]] = [[], []]

    def worker(index: int) -> None:
        start.wait()
        for _ in range(12):
            batch = stores.outbox.claim(ports.clock.now(), limit=1, lease=LEASE)
            claimed[index] += [item.message.idempotency_key for item in batch]

    threads = [threading.Thread(target=worker, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 12


class _Counting:
    """An `SmsGateway` that counts every call by idempotency key, from any thread."""

    def __init__(self) -> None:
        self.calls: list[str | None] = []
        self._lock = threading.Lock()

    def send(self, phone: str, message: SmsMessage) -> None:
        del phone
        with self._lock:
            self.calls.append(message.idempotency_key)


def test_two_workers_delivering_at_once_send_each_text_once(stores: Stores) -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, stores)
    for _ in range(12):
        _at_otp(engine)
    provider, start = _Counting(), threading.Barrier(2)

    def worker() -> None:
        start.wait()
        while deliver_outbox(stores.outbox, provider, clock=ports.clock, limit=1).delivered:
            pass

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(provider.calls) == len(set(provider.calls)) == 12
    assert stores.rows() == []


def test_a_lease_that_ran_out_passes_to_another_worker_and_the_first_cannot_fail_it(
    stores: Stores,
) -> None:
    ports = FakePorts.seeded()
    _at_otp(_engine(ports, stores))
    now = ports.clock.now()
    [first] = stores.outbox.claim(now, limit=10, lease=LEASE)

    assert stores.outbox.claim(now + LEASE / 2, limit=10, lease=LEASE) == []
    [second] = stores.outbox.claim(now + LEASE, limit=10, lease=LEASE)
    stores.outbox.mark_dead(first)
    stores.outbox.mark_failed(first, retry_at=now + timedelta(days=1))

    assert (second.message, second.attempts) == (first.message, 2)
    assert [row[1:] for row in stores.rows()] == [("pending", 2)]
    stores.outbox.mark_delivered(second)
    assert stores.rows() == []


# --- crashes between every pair of steps -------------------------------------------------------


def _died_at(stores: Stores, point: str, sent: Path, what: str) -> str:
    """Run `tests.outbox_crash` to its death at `point`; the id of its flow."""
    died = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "tests.outbox_crash",
            stores.name,
            stores.location,
            point,
            str(sent),
            what,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert died.returncode == DIED, died.stderr
    [flow_id] = [
        line[len(FLOW_ID) :] for line in died.stdout.splitlines() if line.startswith(FLOW_ID)
    ]
    return flow_id


def _after_the_lease() -> FakeClock:
    clock = FakeClock()  # the dead process's clock (`FakePorts`)
    clock.advance(LEASE + timedelta(minutes=1))  # its lease has run out, the code not yet
    return clock


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_any_point_neither_loses_nor_doubles_the_text(
    shared_stores: Stores, point: str, tmp_path: Path
) -> None:
    stores = shared_stores
    sent = tmp_path / "sent.jsonl"
    flow_id = _died_at(stores, point, sent, "text")

    clock, provider = _after_the_lease(), CountingProvider(sent)
    deliver_outbox(stores.outbox, provider, clock=clock)
    deliver_outbox(stores.outbox, provider, clock=clock)

    snapshot = stores.flows.load(flow_id)
    assert snapshot is not None
    saved = point not in {"before_save", "mid_save"}
    assert snapshot.state == ("otp_pending" if saved else "filling_form")
    intended = [f"{flow_id}:{snapshot.version}:0"] if saved else []
    assert provider.delivered() == intended
    # at least once: only a worker that died after the send sent again, under the same key
    assert provider.calls() == intended * (2 if point == "after_send" else 1)
    assert stores.rows() == []


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_any_point_neither_loses_nor_doubles_the_account_notice(
    shared_stores: Stores, point: str, tmp_path: Path
) -> None:
    stores = shared_stores
    sent = tmp_path / "sent.jsonl"
    flow_id = _died_at(stores, point, sent, "notice")
    if point in {"before_save", "mid_save"}:  # no step, no notice: the citizen submits again
        ports = FakePorts.seeded()
        engine = _engine(ports, stores, durable_events=(AccountCreated,))
        assert engine.send(flow_id, STRONG).state is State.COMPLETED

    clock, receiver = _after_the_lease(), CountingProvider(sent)
    handlers = {"account_created": receiver.receive}
    deliver_outbox(stores.outbox, handlers=handlers, clock=clock)
    deliver_outbox(stores.outbox, handlers=handlers, clock=clock)

    snapshot = stores.flows.load(flow_id)
    assert snapshot is not None
    assert snapshot.state == "completed"
    intended = [f"{flow_id}:{snapshot.version}:0"]
    assert receiver.delivered() == intended
    assert receiver.calls() == intended * (2 if point == "after_send" else 1)
    assert stores.rows() == []


# --- the wiring: open_stores, the HTTP adapter, the CLI ----------------------------------------


def test_open_stores_gives_the_databases_outbox(tmp_path: Path) -> None:
    with open_stores(tmp_path / "regflow.sqlite3") as opened:
        assert isinstance(opened.outbox, SqliteOutbox)


def _text(key: str | None) -> SmsMessage:
    return attrs.evolve(Policy().otp_message("123456"), idempotency_key=key)


@pytest.mark.parametrize("key", ["flow:3:0", None])
def test_the_http_sms_adapter_sends_the_idempotency_key_as_a_header(key: str | None) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    settings = HttpSettings(base_url="http://sms.test")
    HttpSmsGateway(settings, transport=httpx.MockTransport(answer)).send("+84912345678", _text(key))

    assert seen[0].headers.get("Idempotency-Key") == key


def test_the_async_http_sms_adapter_sends_it_too() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    gateway = AsyncHttpSmsGateway(
        HttpSettings(base_url="http://sms.test"), transport=httpx.MockTransport(answer)
    )

    async def send() -> None:
        await gateway.send("+84912345678", _text("flow:3:0"))
        await gateway.aclose()

    run_blocking(send())

    assert seen[0].headers["Idempotency-Key"] == "flow:3:0"


# --- regflow outbox run -------------------------------------------------------------------------

#: The gateway `regflow outbox run --sms tests.test_outbox:CLI_SMS` sends through.
CLI_SMS = SmsInbox()


def _queued_text(tmp_path: Path) -> Path:
    """A database holding one text, queued now (the command runs on the system's clock)."""
    stores, ports = _sqlite(tmp_path), FakePorts.seeded()
    ports.clock.set(datetime.now(UTC))
    _at_otp(_engine(ports, stores))
    return Path(stores.location)


def test_outbox_run_once_delivers_what_is_due_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = _queued_text(tmp_path)
    CLI_SMS.sent.clear()
    capsys.readouterr()  # the engine's log lines
    command = ["outbox", "run", "--once", "--database", str(database)]

    assert main([*command, "--sms", "tests.test_outbox:CLI_SMS"]) == 0
    assert main([*command, "--sms", "regflow.testing:SmsInbox"]) == 0  # a class: one is made

    assert capsys.readouterr().out.splitlines() == [
        "delivered=1 retried=0 dead=0 expired=0",
        "delivered=0 retried=0 dead=0 expired=0",
    ]
    assert len(CLI_SMS.sent) == 1


@pytest.mark.parametrize("target", ["tests.test_outbox", "tests.test_outbox:ROOT"])
def test_outbox_run_names_what_is_not_a_gateway(target: str) -> None:
    with pytest.raises(TypeError, match=r"tests\.test_outbox"):
        sms_gateway(target)


class _StopError(Exception):
    """Stops the worker's loop in a test, as a SIGTERM would."""


def test_the_worker_loops_past_a_failed_run_and_pauses_only_when_nothing_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = _queued_text(tmp_path)
    runs: Iterator[Delivery | Exception] = iter(
        [RuntimeError("database down"), Delivery(delivered=1), Delivery()]
    )

    def deliver(*_: object, **__: object) -> Delivery:
        answer = next(runs)
        if isinstance(answer, Exception):
            raise answer
        return answer

    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:
            raise _StopError

    monkeypatch.setattr("regflow.tools._outbox_run.deliver_outbox", deliver)
    out = io.StringIO()
    with pytest.raises(_StopError):
        run(str(database), SmsInbox(), once=False, interval=0.5, limit=1, out=out, sleep=sleep)

    # failed: pause; a full batch: straight on; empty: pause
    assert pauses == [0.5, 0.5]
    assert out.getvalue().splitlines() == [
        "delivered=1 retried=0 dead=0 expired=0",
        "delivered=0 retried=0 dead=0 expired=0",
    ]


def test_outbox_run_once_lets_a_failed_run_fail_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def deliver(*_: object, **__: object) -> Delivery:
        raise RuntimeError("database down")

    monkeypatch.setattr("regflow.tools._outbox_run.deliver_outbox", deliver)
    with pytest.raises(RuntimeError):
        run(str(tmp_path / "db"), SmsInbox(), once=True, interval=1, limit=1, out=io.StringIO())


#: The notices `regflow outbox run --handler transitioned=tests.test_outbox:CLI_NOTICES` takes.
CLI_NOTICES = _Receiver()


def test_outbox_run_hands_a_hosts_kind_to_its_handler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stores, ports = _sqlite(tmp_path), FakePorts.seeded()
    ports.clock.set(datetime.now(UTC))
    engine = _engine(ports, stores, durable_events=(Transitioned,))
    engine.send(engine.start("bhxh_registration").flow_id, ChooseMethod("citizen", "bhxh"))
    CLI_NOTICES.got.clear()
    capsys.readouterr()
    command = ["outbox", "run", "--once", "--database", stores.location]
    command += ["--sms", "regflow.testing:SmsInbox"]

    assert main([*command, "--handler", "transitioned=tests.test_outbox:CLI_NOTICES"]) == 0

    assert capsys.readouterr().out.splitlines() == ["delivered=1 retried=0 dead=0 expired=0"]
    [message] = CLI_NOTICES.got
    assert message.kind == "transitioned"


def test_a_handler_named_by_its_class_is_one_made_from_it() -> None:
    kind, made = handler("flow_ended=tests.test_outbox:_Receiver")
    assert kind == "flow_ended"
    assert isinstance(made, _Receiver)


@pytest.mark.parametrize(
    "option",
    [
        "tests.test_outbox:CLI_NOTICES",  # no kind
        "sms=tests.test_outbox:CLI_NOTICES",  # texts go through the gateway
        "flow_ended=",
        "flow_ended=tests.test_outbox",  # no attribute
        "flow_ended=tests.test_outbox:ROOT",  # not callable
    ],
)
def test_outbox_run_names_what_is_not_a_handler(option: str) -> None:
    with pytest.raises(TypeError, match="handler"):
        handler(option)


@pytest.mark.parametrize(
    "options",
    [
        ["--sms", "tests.test_outbox:ROOT"],
        ["--sms", "regflow.testing:SmsInbox", "--handler", "flow_ended=tests.no_such_module:f"],
        ["--sms", "regflow.testing:SmsInbox", "--handler", "flow_ended=tests.test_outbox:NOPE"],
    ],
)
def test_outbox_run_says_what_it_cannot_load_and_fails(
    options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["outbox", "run", "--once", "--database", str(tmp_path / "regflow.sqlite3")]
    assert main([*command, *options]) == 2
    assert "regflow outbox run: cannot load the host's code" in capsys.readouterr().err
