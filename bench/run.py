"""Benchmark regflow against other ways to run its flow: the tables of docs/performance.md.

    .venv/bin/python bench/run.py            # the full run (a few minutes)
    .venv/bin/python bench/run.py --quick    # a smoke run: a few iterations, numbers meaningless
    .venv/bin/python bench/run.py --profile  # pyinstrument over regflow's steps

Every variant runs the same registrations (choose method → BHXH form → OTP → password) over
in-memory stores and the fast test hasher, interleaved in rounds so machine noise hits all
alike; each request is timed on its own. The password recoveries (login → OTP → password)
are run the same way by regflow and the floor. Peers are in `peers.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import platform
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import attrs
import structlog
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import peers
import regflow.engine._engine
from cpu import process_cpu
from regflow import (
    BHXH_REGISTRATION,
    PASSWORD_RECOVERY,
    Account,
    BhxhRecord,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowSpec,
    Policy,
    SetPassword,
    State,
    SubmitLogin,
    production_logging,
)
from regflow.adapters.argon2 import Argon2Hasher
from regflow.adapters.otel import OpenTelemetryInstrumentation
from regflow.adapters.sqlite import SqliteDatabase, SqliteFlowStore, SqliteUserStore
from regflow.adapters.system import SystemClock
from regflow.engine import codec as json_codec
from regflow.testing import Crowd, FakePorts, InMemoryBhxhRegistry, form_for, simulate
from regflow.tools._report import read_report

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

    from regflow import FlowView
    from regflow.ports import FlowStore, UserStore

PASSWORD = "Mật-khẩu-2026"  # noqa: S105 - the benchmark citizens' password
OLD_PASSWORD = "Cũ-rồi-2025"  # noqa: S105 - the password a recovery replaces

Start = Callable[[], str]
Send = Callable[[str, object], object]
Timings = dict[str, list[int]]
DEVNULL_BYTES = open(os.devnull, "wb")  # noqa: SIM115, PTH123 - lives as long as the run


# --- logging ------------------------------------------------------------------------------------


def configure_logging(level: int) -> None:
    """A production structlog set-up: a level filter, then JSON lines (here to /dev/null)."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(open(os.devnull, "w")),  # noqa: SIM115, PTH123 - lives as long as the run
        cache_logger_on_first_use=True,
    )
    _fresh_engine_logger()


def configure_production(level: int) -> None:
    """regflow's recommended production set-up (`regflow.production_logging`), to /dev/null."""
    structlog.configure(**production_logging(DEVNULL_BYTES, level))
    _fresh_engine_logger()


def _fresh_engine_logger() -> None:
    """The engine's module-level proxy caches its logger on first use, as production wants;
    a fresh one lets one run measure several configurations."""
    regflow.engine._engine._log = structlog.get_logger("regflow")  # noqa: SLF001 - benchmark only


# --- the flow -----------------------------------------------------------------------------------


def citizens(count: int, first: int = 1) -> list[BhxhRecord]:
    return [
        BhxhRecord(
            bhxh_number=f"{n:010d}",
            full_name="Nguyễn Văn An",
            date_of_birth=date(1990, 5, 17),
            phone="+84912345678",
            id_number=f"001090{n:06d}",  # a CCCD: Hà Nội, born in the 1900s, in (19)90
        )
        for n in range(first, first + count)
    ]


def give_account(ports: FakePorts, record: BhxhRecord) -> None:
    """The citizen of `record` has an account (its password `OLD_PASSWORD`) to recover."""
    account = Account.for_citizen(
        record,
        account_id=f"account-{record.bhxh_number}",
        email=None,
        created_at=ports.clock.now(),
        flow_id="registered-before",
    )
    ports.users.add(account, ports.hasher.hash(OLD_PASSWORD))


def registration_events(record: BhxhRecord, ports: FakePorts) -> Iterator[tuple[str, object]]:
    """The citizen's events; each is built before its request, outside the timing."""
    yield "choose_method", ChooseMethod("citizen", "bhxh")
    yield "submit_form", form_for(record)
    yield "confirm_otp", ConfirmOtp(ports.sms.last_code(record.phone))
    yield "set_password", SetPassword(PASSWORD, PASSWORD)


def registered(record: BhxhRecord, ports: FakePorts) -> bool:
    return ports.users.find(record.id_number, record.bhxh_number) is not None


def recovery_events(record: BhxhRecord, ports: FakePorts) -> Iterator[tuple[str, object]]:
    yield "submit_login", SubmitLogin(record.id_number)
    yield "confirm_otp", ConfirmOtp(ports.sms.last_code(record.phone))
    yield "set_password", SetPassword(PASSWORD, PASSWORD)


def recovered(record: BhxhRecord, ports: FakePorts) -> bool:
    stored = ports.users.password_hash(f"account-{record.bhxh_number}")
    return stored is not None and ports.hasher.verify(stored, PASSWORD)


@attrs.frozen
class Scenario:
    """One flow as every variant runs it: the citizens' events and how to tell it is done."""

    spec: FlowSpec
    timed: tuple[str, ...]
    events: Callable[[BhxhRecord, FakePorts], Iterator[tuple[str, object]]]
    done: Callable[[BhxhRecord, FakePorts], bool]
    #: What the fakes hold for a citizen before the flow begins, beyond the BHXH record.
    seed: Callable[[FakePorts, BhxhRecord], None] | None = None

    def ports(self, records: list[BhxhRecord]) -> FakePorts:
        """Fakes seeded with every citizen of `records`."""
        ports, seed = FakePorts.seeded(*records), self.seed
        if seed is not None:
            for record in records:
                seed(ports, record)
        return ports

    def empty(self) -> Timings:
        return {trigger: [] for trigger in self.timed}


REGISTRATION = Scenario(
    BHXH_REGISTRATION,
    ("choose_method", "submit_form", "confirm_otp", "set_password"),
    registration_events,
    registered,
)
RECOVERY = Scenario(
    PASSWORD_RECOVERY,
    ("submit_login", "confirm_otp", "set_password"),
    recovery_events,
    recovered,
    give_account,
)


def _clock_cost() -> int:
    """What reading the CPU clock twice costs, to take off every request's time."""
    clock = time.process_time_ns
    return int(statistics.median(-clock() + clock() for _ in range(1000)))


#: Requests are timed in CPU time of this process: other processes on a shared machine
#: then delay a request without inflating its cost. (A syscall under KVM: ~1 µs, taken off.)
CLOCK = time.process_time_ns
CLOCK_COST = _clock_cost()


def drive(
    scenario: Scenario, start: Start, send: Send, ports: FakePorts, records: list[BhxhRecord]
) -> Timings:
    """Take every citizen in `records` through the scenario's flow, timing each request."""
    timings = scenario.empty()
    clock, cost = CLOCK, CLOCK_COST
    for record in records:
        flow_id = start()
        for trigger, event in scenario.events(record, ports):
            began = clock()
            send(flow_id, event)
            timings[trigger].append(clock() - began - cost)
    missing = [r for r in records if not scenario.done(r, ports)]
    if missing:
        raise RuntimeError(f"{len(missing)} of {len(records)} {scenario.spec.name} flows failed")
    return timings


@attrs.define
class Variant:
    """One way to run a flow, with its own fakes seeded with every citizen of the run."""

    name: str
    make: Callable[[FakePorts, FlowSpec], tuple[Start, Send]]
    log_level: int = logging.WARNING
    timings: Timings = attrs.Factory(dict)
    set_up_logging: Callable[[int], None] = configure_logging

    def run(self, scenario: Scenario, records: list[BhxhRecord]) -> None:
        self.set_up_logging(self.log_level)
        ports = scenario.ports(records)
        start, send = self.make(ports, scenario.spec)
        gc.collect()
        for trigger, times in drive(scenario, start, send, ports, records).items():
            self.timings.setdefault(trigger, []).extend(times)

    def steps(self) -> list[int]:
        return [t for times in self.timings.values() for t in times]


def regflow_variant(
    name: str,
    level: int,
    *,
    traced: bool = False,
    set_up_logging: Callable[[int], None] = configure_logging,
) -> Variant:
    def make(ports: FakePorts, spec: FlowSpec) -> tuple[Start, Send]:
        engine = ports.engine(instrumentation=sdk_instrumentation() if traced else None)
        return (lambda: engine.start(spec.name).flow_id), engine.send

    return Variant(name, make, level, set_up_logging=set_up_logging)


def sdk_instrumentation() -> OpenTelemetryInstrumentation:
    """OpenTelemetry's SDK as a host runs it: spans batched to an exporter (here one that
    keeps them), metrics aggregated for a reader (here one that is never asked)."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    return OpenTelemetryInstrumentation(
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
    )


def peer_variant(name: str, dispatch: peers.Dispatch) -> Variant:
    def make(ports: FakePorts, spec: FlowSpec) -> tuple[Start, Send]:
        peer = peers.Peer(ports, spec, dispatch)
        return peer.start, peer.send

    return Variant(name, make)


PRODUCTION = "regflow — INFO logs, production set-up (orjson, bytes)"


def variants(*, with_peers: bool) -> list[Variant]:
    """regflow at two log levels (INFO under two set-ups) and the floor; the library peers
    when `with_peers`."""
    ours = [
        regflow_variant("regflow — logs filtered at WARNING", logging.WARNING),
        regflow_variant("regflow — INFO logs rendered as JSON", logging.INFO),
        peer_variant("floor: hand-written dict dispatch", peers.floor),
        regflow_variant(PRODUCTION, logging.INFO, set_up_logging=configure_production),
        regflow_variant(
            "regflow — OpenTelemetry on, logs at WARNING", logging.WARNING, traced=True
        ),
    ]
    if not with_peers:
        return ours
    return [
        *ours,
        peer_variant("transitions: new Machine per flow load", peers.transitions_machine_per_flow),
        peer_variant("transitions: add_model/remove_model", peers.transitions_add_remove_model),
        peer_variant(
            "python-statemachine: instance per load", peers.statemachine_instance_per_request
        ),
    ]


def measure_steps(
    scenario: Scenario, flows: int, rounds: int, *, with_peers: bool = True
) -> list[Variant]:
    """Run every variant over `flows` flows of the scenario, interleaved in `rounds`."""
    measured = variants(with_peers=with_peers)
    per_round = max(1, flows // rounds)
    records = citizens(per_round * rounds + 1)
    for variant in measured:  # warm-up: imports, caches, the first-use logger binding
        variant.run(scenario, records[-1:])
        variant.timings = {}
    for round_ in range(rounds):
        batch = records[round_ * per_round : (round_ + 1) * per_round]
        for variant in measured:
            variant.run(scenario, batch)
    return measured


# --- reporting ----------------------------------------------------------------------------------


def micros(nanos: float) -> float:
    return nanos / 1000


def p99(values: list[int]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def steps_table(measured: list[Variant]) -> str:
    """Per request, all four triggers pooled; ratios are regflow's median ÷ the variant's
    (regflow at WARNING, at INFO and the floor come first)."""
    warning, info, floor = (statistics.median(v.steps()) for v in measured[:3])
    header = [
        "variant",
        "median µs",
        "p99 µs",
        "above floor µs",
        "regflow ÷ this",
        "regflow (INFO JSON) ÷ this",
    ]
    rows = []
    for variant in measured:
        median = statistics.median(variant.steps())
        rows.append(
            [
                variant.name,
                f"{micros(median):.1f}",
                f"{micros(p99(variant.steps())):.1f}",
                f"{micros(median - floor):.1f}",
                f"{warning / median:.3f}",
                f"{info / median:.3f}",
            ]
        )
    return markdown(header, rows)


def triggers_table(measured: list[Variant]) -> str:
    timed = list(measured[0].timings)
    rows = [
        [variant.name, *(f"{micros(statistics.median(variant.timings[t])):.1f}" for t in timed)]
        for variant in measured
    ]
    return markdown(["median µs per request", *timed], rows)


def otel_ratio(measured: list[Variant]) -> float:
    """Median request with OpenTelemetry on ÷ off (both with logs filtered at WARNING)."""
    return _ratio(measured, "OpenTelemetry")


def logging_ratios(measured: list[Variant]) -> tuple[float, float]:
    """Median request with INFO lines rendered by the bench's default JSON set-up, and by
    the production one, ÷ with logs filtered at WARNING."""
    return _ratio(measured, "INFO logs rendered"), _ratio(measured, PRODUCTION)


def _ratio(measured: list[Variant], name: str) -> float:
    """The median request of the variant named with `name` ÷ regflow's at WARNING."""
    off = next(v for v in measured if v.name.startswith("regflow — logs filtered"))
    on = next(v for v in measured if name in v.name)
    return statistics.median(on.steps()) / statistics.median(off.steps())


def log_line_cost() -> float:
    """What one INFO event costs the host's JSON logging, regflow aside (median µs)."""
    configure_logging(logging.INFO)
    log = structlog.get_logger("bench")
    fields = {f"key_{n}": f"value {n}" for n in range(10)}
    times = []
    for _ in range(2000):
        began = CLOCK()
        log.info("flow.transition", **fields)
        times.append(CLOCK() - began - CLOCK_COST)
    return micros(statistics.median(times))


# --- snapshot size and memory -------------------------------------------------------------------


class FreshRecords(InMemoryBhxhRegistry):
    """A registry that returns a new record per lookup, as a remote BHXH service would."""

    def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        record = super().lookup(bhxh_number)
        if record is None:
            return None
        fields = attrs.asdict(record, recurse=False).items()
        texts = {name: value.encode().decode() for name, value in fields if isinstance(value, str)}
        return attrs.evolve(record, **texts)  # type: ignore[arg-type]


class DiscardSms:
    def send(self, phone: str, text: str) -> None:
        """Send nothing: the memory measured is the flows', not an SMS log's."""


def to_otp_step(engine: Engine, record: BhxhRecord) -> FlowView:
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    return engine.send(flow_id, form_for(record))


def account_told_after_otp(requests: int) -> tuple[float, float]:
    """The form's answer under `Policy.account_exists_after_otp`, for citizens with an
    account and without one, timed alternately (`requests` each, on one engine): the median
    of each in µs. The two should be equal within noise: the answer must not tell them apart.
    """
    configure_logging(logging.INFO)  # the audit lines too: they must look alike as well
    ports = FakePorts.seeded()
    engine = ports.engine(BHXH_REGISTRATION, policy=Policy(account_exists_after_otp=True))
    known, unknown = citizens(requests), citizens(requests, first=requests + 1)
    for record in (*known, *unknown):
        ports.bhxh.add(record)
    for record in known:
        give_account(ports, record)
    times: dict[bool, list[int]] = {True: [], False: []}
    for pair in zip(known, unknown, strict=True):
        for has_account, record in zip((True, False), pair, strict=True):
            flow_id = engine.start("bhxh_registration").flow_id
            engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
            form = form_for(record)
            began = time.perf_counter_ns()
            answer = engine.send(flow_id, form)
            times[has_account].append(time.perf_counter_ns() - began)
            assert answer.state is State.OTP_PENDING  # noqa: S101 - both look alike
    return micros(statistics.median(times[True])), micros(statistics.median(times[False]))


def snapshot_sizes() -> dict[str, int]:
    """The JSON a text store keeps for a flow waiting for its OTP and for a completed one."""
    configure_logging(logging.WARNING)
    ports = FakePorts.seeded()
    ports.clock = SystemClock()  # type: ignore[assignment]  # real times have microseconds
    engine = ports.engine()
    record = next(iter(ports.bhxh.records.values()))
    flow_id = to_otp_step(engine, record).flow_id
    sizes = {"in flight (OTP step)": _json_size(ports, flow_id)}
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    engine.send(flow_id, SetPassword(PASSWORD, PASSWORD))
    sizes["completed"] = _json_size(ports, flow_id)
    return sizes


def _json_size(ports: FakePorts, flow_id: str) -> int:
    snapshot = ports.flows.load(flow_id)
    assert snapshot is not None  # noqa: S101 - the flow was just saved
    return len(json_codec.dumps(snapshot).encode())


def memory_per_flow(flows: int) -> float:
    """Bytes the in-memory store holds per flow waiting for its OTP (tracemalloc)."""
    configure_logging(logging.WARNING)
    records = citizens(flows)
    ports = FakePorts(bhxh=FreshRecords(records))
    ports.sms = DiscardSms()  # type: ignore[assignment]
    ports.clock = SystemClock()  # type: ignore[assignment]  # a time of its own per flow
    engine = ports.engine()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for record in records:
        to_otp_step(engine, record)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    waiting = sum(flow.state is State.OTP_PENDING for flow in ports.flows.flows.values())
    if waiting != flows:
        raise RuntimeError(f"{waiting} of {flows} flows reached the OTP step")
    return (after - before) / flows


# --- storage per flow ---------------------------------------------------------------------------


def _fill(flows: FlowStore, records: list[BhxhRecord]) -> None:
    """Take every citizen of `records` to the OTP step, saving the flows in `flows`."""
    ports = FakePorts(bhxh=InMemoryBhxhRegistry(records), flows=flows)  # type: ignore[arg-type]
    ports.sms = DiscardSms()  # type: ignore[assignment]
    ports.clock = SystemClock()  # type: ignore[assignment]  # real times, as stored in production
    engine = ports.engine()
    for record in records:
        if to_otp_step(engine, record).state is not State.OTP_PENDING:
            raise RuntimeError("a flow did not reach the OTP step")


def sqlite_bytes_per_flow(flows: int) -> float:
    """Bytes the SQLite file grows by per flow waiting for its OTP (table and its index):
    the page count's delta over `flows` flows, after a first thousand set up the B-trees."""
    configure_logging(logging.WARNING)
    records = citizens(flows + 1000)
    with tempfile.TemporaryDirectory() as directory:
        database = SqliteDatabase(Path(directory) / "regflow.db")
        try:
            store = SqliteFlowStore(database)
            _fill(store, records[:1000])
            before = _sqlite_size(database)
            _fill(store, records[1000:])
            return (_sqlite_size(database) - before) / flows
        finally:
            database.close()


def _sqlite_size(database: SqliteDatabase) -> int:
    """The database's pages in bytes, the write-ahead log checkpointed into the file."""
    with database.connect() as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    return int(pages) * int(page_size)


@contextlib.contextmanager
def _bench_schema(dsn: str, **pool: Any) -> Iterator[ConnectionPool]:  # noqa: ANN401 - the pool's own keywords
    """A pool on `dsn` whose search path is a schema of this run's, its tables made; the
    schema dropped afterwards. `pool` goes to `ConnectionPool` with the stores' options."""
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415 - only with a DSN
    from psycopg_pool import ConnectionPool  # noqa: PLC0415

    from regflow.adapters.postgres import create_schema, pool_options  # noqa: PLC0415

    schema = f"regflow_bench_{os.getpid()}"
    conninfo = make_conninfo(dsn, options=f"-c search_path={schema}")
    with ConnectionPool(conninfo, open=True, **{**pool_options(1, 1), **pool}) as opened:
        try:
            with opened.connection() as connection:
                connection.execute(f"CREATE SCHEMA {schema}")
            create_schema(opened)
            yield opened
        finally:
            with opened.connection() as connection:
                connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def postgres_bytes_per_flow(dsn: str, flows: int) -> tuple[float, float]:
    """Bytes `regflow_flows` grows by per flow waiting for its OTP in PostgreSQL (heap,
    TOAST and indexes: pg_total_relation_size), as the saves left it (with the dead row
    versions of the earlier steps) and compacted (VACUUM FULL: the live row and its index
    entries). In a schema of its own, dropped afterwards."""
    from regflow.adapters.postgres import PostgresFlowStore  # noqa: PLC0415 - only with a DSN

    configure_logging(logging.WARNING)
    records = citizens(flows + 1000)
    with _bench_schema(dsn) as pool:
        store = PostgresFlowStore(pool)
        _fill(store, records[:1000])
        before = _postgres_size(pool, compact=True)
        _fill(store, records[1000:])
        saved = _postgres_size(pool, compact=False)
        compacted = _postgres_size(pool, compact=True)
    return (saved - before) / flows, (compacted - before) / flows


def _postgres_size(pool: ConnectionPool, *, compact: bool) -> int:
    with pool.connection() as connection:
        if compact:
            connection.execute("VACUUM FULL regflow_flows")
        row = connection.execute("SELECT pg_total_relation_size('regflow_flows')").fetchone()
    assert row is not None  # noqa: S101 - an aggregate has a row
    return int(row[0])


# --- end to end with the production hasher ------------------------------------------------------


def end_to_end(
    registrations: int, synchronous: Literal["FULL", "NORMAL"] = "NORMAL"
) -> dict[str, float]:
    """Registrations per second on one core with SQLite and argon2id, against bare hashes."""
    configure_logging(logging.WARNING)
    with tempfile.TemporaryDirectory() as directory:
        database = SqliteDatabase(Path(directory) / "regflow.db", synchronous=synchronous)
        try:
            return _registrations_against_hashes(
                registrations, users=SqliteUserStore(database), flows=SqliteFlowStore(database)
            )
        finally:
            database.close()


def postgres_end_to_end(
    dsn: str, registrations: int, *, synchronous_commit: bool = True
) -> dict[str, float]:
    """`end_to_end` on the PostgreSQL stores (`synchronous_commit` the flow store's), and
    what a registration asks of the server, from libpq's trace of every connection: round
    trips (each answered by a ReadyForQuery) and statements (each a Bind, or a Query)."""
    from psycopg.pq import Trace  # noqa: PLC0415 - only with a DSN

    from regflow.adapters.postgres import PostgresFlowStore, PostgresUserStore  # noqa: PLC0415

    configure_logging(logging.WARNING)
    backends: list[int] = []
    with tempfile.TemporaryFile("w+") as trace:

        def backends_cpu() -> float:
            return sum(map(process_cpu, backends))

        def traced(connection: psycopg.Connection[Any]) -> None:
            backends.append(connection.info.backend_pid)
            connection.pgconn.trace(trace.fileno())
            connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)

        with _bench_schema(dsn, configure=traced, max_size=2, min_size=2) as pool:
            pool.wait()
            start, cpu_before = os.lseek(trace.fileno(), 0, os.SEEK_END), backends_cpu()
            rates = _registrations_against_hashes(
                registrations,
                users=PostgresUserStore(pool),
                flows=PostgresFlowStore(pool, synchronous_commit=synchronous_commit),
            )
            end, server_cpu = os.lseek(trace.fileno(), 0, os.SEEK_END), backends_cpu() - cpu_before
        trace.seek(start)
        messages = [line.split("\t")[:3] for line in trace.read(end - start).splitlines()]
    round_trips = sum(m[0] == "B" and m[2] == "ReadyForQuery" for m in messages)
    statements = sum(m[0] == "F" and m[2] in {"Bind", "Query"} for m in messages)
    return {
        **rates,
        "round trips per registration": round_trips / registrations,
        "statements per registration": statements / registrations,
        "server CPU ms per registration": server_cpu * 1000 / registrations,
    }


def round_trip_after_idle(
    dsn: str, gaps_ms: tuple[float, ...] = (0, 1, 5, 25)
) -> dict[float, float]:
    """The median wall time of a one-row ``SELECT`` with a parameter (prepared from its
    fifth run, as a flow's load is) after the client has computed for each of `gaps_ms`
    milliseconds, as the engine and the hash do between a registration's statements: how
    much longer a round trip takes when the server's backend has waited idle meanwhile."""
    import psycopg  # noqa: PLC0415 - only with a DSN

    medians: dict[float, float] = {}
    with psycopg.connect(dsn, autocommit=True) as connection:
        for gap in gaps_ms:
            waits = []
            for _ in range(200):
                busy_until = time.perf_counter() + gap / 1000
                while time.perf_counter() < busy_until:
                    pass
                began = time.perf_counter()
                connection.execute("SELECT 1 WHERE %s::text IS NOT NULL", ("flow",)).fetchone()
                waits.append(time.perf_counter() - began)
            medians[gap] = statistics.median(waits) * 1000
    return medians


class _Timed:
    """A store whose every call adds its wall time to `spent[0]`: how long a registration
    waits on its database, apart from the engine's own work."""

    def __init__(self, store: object, spent: list[float]) -> None:
        self._store, self._spent = store, spent

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - the store's own methods
        method = getattr(self._store, name)

        def timed(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - as the store's
            began = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._spent[0] += time.perf_counter() - began

        return timed


def _registrations_against_hashes(
    registrations: int, *, users: UserStore, flows: FlowStore
) -> dict[str, float]:
    hasher = Argon2Hasher()
    records = citizens(registrations)
    spent = [0.0]
    users, flows = cast("UserStore", _Timed(users, spent)), cast("FlowStore", _Timed(flows, spent))
    ports = FakePorts(bhxh=InMemoryBhxhRegistry(records), hasher=hasher, users=users, flows=flows)  # type: ignore[arg-type]
    engine = ports.engine()
    flows_time = hash_time = 0.0
    for record in records:  # interleaved, so machine noise hits both alike
        began = time.perf_counter()
        start = lambda: engine.start("bhxh_registration").flow_id  # noqa: E731
        drive(REGISTRATION, start, engine.send, ports, [record])
        flows_time += time.perf_counter() - began
        began = time.perf_counter()
        hasher.hash(PASSWORD)
        hash_time += time.perf_counter() - began
    flows_rate, hash_rate = registrations / flows_time, registrations / hash_time
    return {
        "registrations/s": flows_rate,
        "argon2id hashes/s": hash_rate,
        "ms in the stores per registration": spent[0] * 1000 / registrations,
    }


# --- the funnel report -------------------------------------------------------------------------


def report_rate(lines: int) -> tuple[int, float]:
    """Audit lines per second `regflow report` reads: simulated citizens' logs, copied
    (each copy's flows renamed) until there are `lines`, read from three files."""
    configure_logging(logging.WARNING)  # a fresh engine logger, bound by simulate's logging
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        truth = simulate(Crowd(citizens=500, servers=3, seed=1), folder / "seed")
        flows = {spec.name: spec for spec in (BHXH_REGISTRATION, PASSWORD_RECOVERY)}
        logs = _copied(truth.logs, folder, lines)
        began = time.perf_counter()
        report = read_report(logs, flows)
        elapsed = time.perf_counter() - began
    return report.lines, report.lines / elapsed


def _copied(logs: list[Path], folder: Path, lines: int) -> list[Path]:
    """`logs`, each written again with every flow id renamed until all hold `lines`."""
    seeds = [path.read_text(encoding="utf-8").splitlines() for path in logs]
    per_copy = sum(map(len, seeds))
    copies = max(1, lines // per_copy)
    written = []
    for number, seed in enumerate(seeds):
        path = folder / f"big-{number}.jsonl"
        with path.open("w", encoding="utf-8") as file:
            for copy in range(copies):
                tag = f'"{copy:x}-'
                file.writelines(
                    line.replace('"flow_id": "', f'"flow_id": {tag}') + "\n" for line in seed
                )
        written.append(path)
    return written


# --- main ---------------------------------------------------------------------------------------


def profile(flows: int) -> None:
    from pyinstrument import Profiler  # noqa: PLC0415 - only this mode needs it

    configure_logging(logging.WARNING)
    records = citizens(flows)
    ports = FakePorts.seeded(*records)
    engine = ports.engine()
    with Profiler(interval=0.0001) as profiler:
        drive(
            REGISTRATION,
            lambda: engine.start("bhxh_registration").flow_id,
            engine.send,
            ports,
            records,
        )
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def storage_per_flow(dsn: str | None, flows: int) -> None:
    """Print the bytes per flow waiting for its OTP in SQLite, and in PostgreSQL if given."""
    sqlite = sqlite_bytes_per_flow(flows)
    print(f"SQLite file per flow waiting for its OTP: {sqlite:.0f} bytes ({flows} flows)")
    if dsn is None:
        print("PostgreSQL not measured: give --postgres DSN or REGFLOW_TEST_POSTGRES_DSN")
        return
    saved, compacted = postgres_bytes_per_flow(dsn, flows)
    print(
        f"PostgreSQL regflow_flows per flow waiting for its OTP: {saved:.0f} bytes as saved, "
        f"{compacted:.0f} after VACUUM FULL ({flows} flows, indexes included)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: a few iterations")
    parser.add_argument("--profile", action="store_true", help="profile regflow's steps")
    parser.add_argument("--flows", type=int, default=1000, help="flows per variant and scenario")
    parser.add_argument("--memory-flows", type=int, default=100_000, help="flows kept in memory")
    parser.add_argument("--e2e", type=int, default=20, help="registrations with argon2id")
    parser.add_argument(
        "--report-lines", type=int, default=1_000_000, help="audit lines regflow report reads"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("REGFLOW_TEST_POSTGRES_DSN"),
        help="a PostgreSQL DSN: bytes per flow, end to end (REGFLOW_TEST_POSTGRES_DSN)",
    )
    parser.add_argument("--storage-flows", type=int, default=10_000, help="flows stored")
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end runs")
    args = parser.parse_args(argv)
    if args.profile:
        profile(2000)
        return
    if args.e2e_only:
        ends_to_ends(args.e2e, args.postgres)
        return
    flows, rounds, memory_flows, e2e, report_lines = (
        (20, 2, 1000, 2, 20_000)
        if args.quick
        else (args.flows, 5, args.memory_flows, args.e2e, args.report_lines)
    )
    load = ", ".join(f"{avg:.1f}" for avg in os.getloadavg())
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load}: {flows} flows per variant, in {rounds} rounds"
    )
    for scenario, with_peers in ((REGISTRATION, True), (RECOVERY, False)):
        measured = measure_steps(scenario, flows, rounds, with_peers=with_peers)
        print(f"\n{scenario.spec.name}, per request:\n\n" + steps_table(measured))
        print("\n" + triggers_table(measured))
        print(f"\nOpenTelemetry on ÷ off, median request: {otel_ratio(measured):.2f}")
        default, production = logging_ratios(measured)
        print(
            f"INFO ÷ WARNING, median request: {default:.2f} (bench JSON set-up), "
            f"{production:.2f} (production set-up)"
        )
    told_after = account_told_after_otp(max(flows, 1000))
    print(
        "\nform answered under Policy.account_exists_after_otp, median: "
        f"{told_after[0]:.1f} µs with an account, {told_after[1]:.1f} µs without "
        f"(ratio {told_after[0] / told_after[1]:.3f})"
    )
    print(f"\none INFO log line rendered as JSON by itself: {log_line_cost():.1f} µs")
    sizes = [[name, str(size)] for name, size in snapshot_sizes().items()]
    print("\n" + markdown(["snapshot JSON", "bytes"], sizes))
    storage_per_flow(args.postgres, 200 if args.quick else args.storage_flows)
    read, rate = report_rate(report_lines)
    print(f"\nregflow report: {read:,} audit lines read at {rate:,.0f} lines/s")
    per_flow = memory_per_flow(memory_flows)
    print(f"\nmemory per flow waiting for its OTP: {per_flow:.0f} bytes ({memory_flows} flows)")
    ends_to_ends(e2e, args.postgres)


def ends_to_ends(registrations: int, dsn: str | None) -> None:
    """End to end with argon2id: SQLite under both durabilities, then PostgreSQL if given."""
    durabilities: list[tuple[Literal["FULL", "NORMAL"], str]] = [
        ("NORMAL", "accounts synced (default)"),
        ("FULL", "all synced"),
    ]
    for synchronous, meaning in durabilities:
        _print_end_to_end(f"SQLite {meaning}", end_to_end(registrations, synchronous))
    if dsn is None:
        return
    for synchronous_commit, meaning in ((True, "every commit synced"), (False, "commit later")):
        rates = postgres_end_to_end(dsn, registrations, synchronous_commit=synchronous_commit)
        _print_end_to_end(f"PostgreSQL, {meaning}", rates)
        print(
            f"  per registration: {rates['round trips per registration']:.1f} round trips, "
            f"{rates['statements per registration']:.1f} statements, "
            f"{rates['server CPU ms per registration']:.1f} ms of the server's CPU"
        )
    after_idle = ", ".join(
        f"{ms:.3f} ms after {gap:g} ms" for gap, ms in round_trip_after_idle(dsn).items()
    )
    print(f"PostgreSQL round trip (median) after the client computed: {after_idle}")


def _print_end_to_end(name: str, rates: dict[str, float]) -> None:
    ratio = rates["registrations/s"] / rates["argon2id hashes/s"]
    print(
        f"end to end, {name}: {rates['registrations/s']:.2f} registrations/s vs "
        f"{rates['argon2id hashes/s']:.2f} argon2id hashes/s ({ratio:.1%} of the hash-bound rate), "
        f"{rates['ms in the stores per registration']:.1f} ms a registration in the stores"
    )


if __name__ == "__main__":
    main()
