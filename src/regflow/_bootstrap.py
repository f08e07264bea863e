"""The composition root: the one place that decides which adapter serves which port."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Self

import attrs

from regflow._shipped import ENGINE_FLOWS
from regflow.adapters.argon2 import Argon2Hasher
from regflow.adapters.memory import InMemoryRateLimiter
from regflow.adapters.sqlite import SqliteDatabase, SqliteFlowStore, SqliteOutbox, SqliteUserStore
from regflow.adapters.system import SystemClock
from regflow.declare import Services
from regflow.engine import Engine
from regflow.engine.codec import SCHEMA
from regflow.ports import FlowStore, Outbox, UserStore

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from regflow._methods import MethodRegistry
    from regflow._policy import Policy
    from regflow.declare import FlowSpec
    from regflow.ports import (
        BhxhRegistry,
        Clock,
        FlowEvent,
        FlowListener,
        Instrumentation,
        OutboxStore,
        PasswordHasher,
        RateLimiter,
        SmsGateway,
        Veto,
    )

#: Where the stores live when the host names no database: `$REGFLOW_DATABASE`, else this
#: SQLite file in the working directory.
DEFAULT_DATABASE: Final = "regflow.sqlite3"
_POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")


def default_database() -> str:
    return os.environ.get("REGFLOW_DATABASE") or DEFAULT_DATABASE


@attrs.frozen
class Stores:
    """The account and flow stores of one database, and its outbox (`Engine(outbox=…)`,
    `regflow.deliver_outbox`); `close` releases its connections."""

    users: UserStore
    flows: FlowStore
    close: Callable[[], None]
    outbox: Outbox | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_stores(
    database: str | os.PathLike[str] | None = None, *, write_schema: int = SCHEMA
) -> Stores:
    """The stores of `database`: a PostgreSQL URL or a SQLite file path.

    PostgreSQL needs the `regflow[postgres]` extra; its tables are created if missing.
    `write_schema` is the snapshot schema the flow store writes: an older one while servers
    of an older release, which read only it, share the database (docs/versioning.md).
    """
    where = os.fspath(database if database is not None else default_database())
    if where.startswith(_POSTGRES_SCHEMES):
        from regflow.adapters import postgres  # noqa: PLC0415 - an optional extra

        pool = postgres.open_pool(where)
        try:
            postgres.create_schema(pool)
        except BaseException:
            pool.close()
            raise
        flows = postgres.PostgresFlowStore(pool, write_schema=write_schema)
        outbox = postgres.PostgresOutbox(pool, write_schema=write_schema)
        return Stores(postgres.PostgresUserStore(pool), flows, pool.close, outbox)
    sqlite = SqliteDatabase(where)
    flow_store = SqliteFlowStore(sqlite, write_schema=write_schema)
    queue = SqliteOutbox(sqlite, write_schema=write_schema)
    return Stores(SqliteUserStore(sqlite), flow_store, sqlite.close, queue)


def shipped_for(ports: Mapping[str, object]) -> tuple[FlowSpec, ...]:
    """The flows regflow ships that need no host port but those in `ports`: a portal that
    has no identity platform yet runs the BHXH registration and the recovery."""
    built_in = set(Services.BUILT_IN)
    return tuple(spec for spec in ENGINE_FLOWS if spec.requires - built_in <= ports.keys())


def bootstrap(  # noqa: PLR0913 - every port may be replaced, all keyword-only
    *specs: FlowSpec,
    sms: SmsGateway,
    otp_secret: bytes,
    bhxh: BhxhRegistry | None = None,
    users: UserStore | None = None,
    flows: FlowStore | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock | None = None,
    policy: Policy | None = None,
    methods: MethodRegistry | None = None,
    limiter: RateLimiter | None = None,
    database: str | os.PathLike[str] | None = None,
    ports: Mapping[str, object] | None = None,
    previous_otp_secrets: Sequence[bytes] = (),
    instrumentation: Instrumentation | None = None,
    outbox: OutboxStore | None = None,
    listeners: Sequence[FlowListener] = (),
    vetoes: Mapping[str, Veto] | None = None,
    durable_events: Collection[type[FlowEvent]] = (),
) -> Engine:
    """Build an engine running `specs` (by default the flows regflow ships whose own
    ports the caller gives: the VNeID registration runs with an ``identity`` port), with
    production defaults for every port the caller leaves out.

    BHXH and SMS are the portal's own services and have no default (a host that runs no
    BHXH registration needs no BHXH); the password hasher
    defaults to argon2id with OWASP's parameters and the clock to the system's; the limits
    across flows are on by default (OWASP: SMS pumping), counted in this process unless a
    shared limiter (`regflow.adapters.limits`) is given. `previous_otp_secrets` rotates the
    OTP key without breaking codes in flight (`Engine`); metrics and traces are off unless
    an `instrumentation` is (`regflow.adapters.otel`); `listeners` and `vetoes` are the
    host's hooks (docs/hooks.md), `durable_events` those of their events the `outbox`
    delivers (docs/outbox.md). Stores left out live in `database`
    (see `open_stores`; by default `default_database()`) for the life of the process: a host
    that must close them opens them itself.
    """
    if users is None or flows is None:
        stores = open_stores(database)
        users = users if users is not None else stores.users
        flows = flows if flows is not None else stores.flows
    clock = clock or SystemClock()
    return Engine(
        *(specs or shipped_for(ports or {})),
        bhxh=bhxh,
        sms=sms,
        users=users,
        flows=flows,
        hasher=hasher or Argon2Hasher(),
        clock=clock,
        otp_secret=otp_secret,
        previous_otp_secrets=previous_otp_secrets,
        policy=policy,
        methods=methods,
        limiter=limiter if limiter is not None else InMemoryRateLimiter(clock),
        ports=ports,
        instrumentation=instrumentation,
        outbox=outbox,
        listeners=listeners,
        vetoes=vetoes,
        durable_events=durable_events,
    )
