"""The example's composition root: settings in, a wired regflow engine out.

`build_services` is the one function that decides which adapter serves which port; a portal
team copying this example replaces the demo BHXH registry here, and gives its SMS provider in
`Settings.sms` (or `REGFLOW_PORTAL_SMS_URL` for regflow's HTTP gateway); with an identity
platform (`Settings.identity`, or `REGFLOW_PORTAL_VNEID_ISSUER` and its client's settings) it
runs the registration by VNeID too. Besides the flows regflow ships, the engine runs the
tutorial's `PHONE_CHANGE` (examples/phone_change), a host's own flow with a host port
(`AccountPhones`), as a portal team would add theirs.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry

import regflow
from phone_change import (
    PHONE_CHANGE,
    AccountPhones,
    InMemoryAccountPhones,
    PostgresAccountPhones,
    SqliteAccountPhones,
)
from regflow import SHIPPED_FLOWS, SHIPPED_OLDER_VERSIONS, VNEID_REGISTRATION
from regflow.adapters.console import ConsoleSmsGateway
from regflow.adapters.demo import demo_citizens, seed_demo_accounts
from regflow.adapters.http import HttpSettings, HttpSmsGateway
from regflow.adapters.memory import InMemoryBhxhRegistry, InMemoryFlowStore, InMemoryUserStore
from regflow.adapters.otel import OpenTelemetryInstrumentation
from regflow.adapters.system import SystemClock
from regflow.ports import Clock, IdentityProvider, PasswordHasher, SmsGateway, UserStore
from regflow_portal._dev import AdjustableClock, DevSmsInbox
from regflow_portal._drafts import FormDrafts

if TYPE_CHECKING:
    from regflow.ports import FlowStore

#: What a secret needs outside development: 32 bytes, and not a short pattern repeated. A key
#: of 32 random bytes has about 30 distinct byte values; fewer than 16 is a typed pattern.
MIN_SECRET_BYTES = 32
MIN_DISTINCT_BYTES = 16
#: How often the portal deletes expired flows by default (`REGFLOW_PORTAL_PURGE_MINUTES`).
PURGE_EVERY = timedelta(minutes=5)
#: A `REGFLOW_PORTAL_DATABASE` that names a PostgreSQL server rather than a SQLite file.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class UnsafeSettingsError(ValueError):
    """The settings would expose citizens in production: the portal refuses to start."""


@attrs.frozen(kw_only=True)
class Settings:
    """How one portal process runs.

    `dev_mode` exposes the development SMS inbox and clock pages; `secure_cookies` must stay
    on wherever the portal is served over HTTPS (everywhere but a developer's machine).
    `database` is the SQLite file of accounts and flows (None: in memory, gone on restart).
    `sms` sends the OTPs in production (development mode uses its inbox); `proxy_hops` is the
    number of reverse proxies in front of the portal whose `X-Forwarded-For` is trusted (0:
    the client is the connection's address); `purge_every` is how often expired flows are
    deleted (None: an operator's cron does it); `identity` is the national identity platform
    the registration by VNeID signs in at (None: the portal offers BHXH only);
    `previous_otp_secrets` are the OTP keys a rotation replaced (or, while it rolls out,
    the next one), which codes in flight still match (docs/deployment.md). Outside
    development mode the constructor
    refuses weak secrets and a missing or console SMS gateway (`UnsafeSettingsError`).
    """

    secret_key: bytes = attrs.field(repr=False)
    otp_secret: bytes = attrs.field(repr=False)
    dev_mode: bool = False
    secure_cookies: bool = True
    database: str | None = None
    policy: regflow.Policy | None = None
    hasher: PasswordHasher | None = None
    sms: SmsGateway | None = None
    proxy_hops: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    purge_every: timedelta | None = PURGE_EVERY
    identity: IdentityProvider | None = None
    previous_otp_secrets: tuple[bytes, ...] = attrs.field(default=(), repr=False)

    def __attrs_post_init__(self) -> None:
        if self.dev_mode:
            return
        _check_secret("secret_key (REGFLOW_PORTAL_SECRET_KEY)", self.secret_key)
        _check_secret("otp_secret (REGFLOW_PORTAL_OTP_SECRET)", self.otp_secret)
        for previous in self.previous_otp_secrets:
            _check_secret("a previous OTP secret (REGFLOW_PORTAL_PREVIOUS_OTP_SECRETS)", previous)
        if self.sms is None or isinstance(self.sms, ConsoleSmsGateway | DevSmsInbox):
            raise UnsafeSettingsError(
                "production needs a real SMS gateway (Settings.sms or REGFLOW_PORTAL_SMS_URL): "
                "the console and development gateways show every OTP"
            )

    @classmethod
    def from_env(cls) -> Settings:
        """Read `REGFLOW_PORTAL_*`; in development, missing secrets are made up per process."""
        env = os.environ
        dev_mode = env.get("REGFLOW_PORTAL_DEV", "0") == "1"
        purge_minutes = int(env.get("REGFLOW_PORTAL_PURGE_MINUTES", "5"))
        return cls(
            secret_key=_secret("REGFLOW_PORTAL_SECRET_KEY", dev_mode=dev_mode),
            otp_secret=_secret("REGFLOW_PORTAL_OTP_SECRET", dev_mode=dev_mode),
            dev_mode=dev_mode,
            secure_cookies=not dev_mode,
            database=env.get("REGFLOW_PORTAL_DATABASE") or None,
            sms=_http_sms(env.get("REGFLOW_PORTAL_SMS_URL"), env.get("REGFLOW_PORTAL_SMS_TOKEN")),
            proxy_hops=int(env.get("REGFLOW_PORTAL_PROXY_HOPS", "0")),
            purge_every=timedelta(minutes=purge_minutes) if purge_minutes > 0 else None,
            identity=_vneid(env),
            previous_otp_secrets=_previous_secrets(env.get("REGFLOW_PORTAL_PREVIOUS_OTP_SECRETS")),
        )


def _secret(name: str, *, dev_mode: bool) -> bytes:
    """A secret from the environment, written in hex (`python -c "import secrets;
    print(secrets.token_hex(32))"`), so a typed passphrase cannot pass for random bytes."""
    value = os.environ.get(name)
    if not value:
        return secrets.token_bytes(MIN_SECRET_BYTES) if dev_mode else b""
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise UnsafeSettingsError(f"{name} must be hex, e.g. from secrets.token_hex(32)") from None


def _previous_secrets(value: str | None) -> tuple[bytes, ...]:
    """The comma-separated hex keys of `REGFLOW_PORTAL_PREVIOUS_OTP_SECRETS`."""
    try:
        return tuple(bytes.fromhex(key) for key in (value or "").split(",") if key.strip())
    except ValueError:
        raise UnsafeSettingsError(
            "REGFLOW_PORTAL_PREVIOUS_OTP_SECRETS must be hex keys separated by commas"
        ) from None


def _check_secret(name: str, value: bytes) -> None:
    if len(value) < MIN_SECRET_BYTES or len(set(value)) < MIN_DISTINCT_BYTES:
        raise UnsafeSettingsError(
            f"{name} needs {MIN_SECRET_BYTES}+ random bytes outside development mode"
        )


def _vneid(env: os._Environ[str]) -> IdentityProvider | None:
    """The OpenID Connect adapter for the platform at `REGFLOW_PORTAL_VNEID_ISSUER`, with the
    client the platform registered for the portal (`_CLIENT_ID`, `_CLIENT_SECRET`, and the
    callback `_REDIRECT_URI`, which ends in ``/vneid/callback``), if one is configured."""
    issuer = env.get("REGFLOW_PORTAL_VNEID_ISSUER")
    if not issuer:
        return None
    from regflow.adapters.oidc import OidcIdentityProvider, OidcSettings  # noqa: PLC0415

    return OidcIdentityProvider(
        OidcSettings(
            issuer=issuer,
            client_id=env.get("REGFLOW_PORTAL_VNEID_CLIENT_ID", ""),
            client_secret=env.get("REGFLOW_PORTAL_VNEID_CLIENT_SECRET", ""),
            redirect_uri=env.get("REGFLOW_PORTAL_VNEID_REDIRECT_URI", ""),
        )
    )


def _http_sms(url: str | None, token: str | None) -> SmsGateway | None:
    """regflow's HTTP SMS gateway (docs/http-contract.md) at `url`, if one is configured."""
    return HttpSmsGateway(HttpSettings(base_url=url, token=token or None)) if url else None


@attrs.frozen(kw_only=True)
class Services:
    """What the web layer uses: the engine, the typed forms, in development the inbox and clock;
    `users` and `phones` are the stores behind the engine's ports; `metrics` what /metrics
    serves (the engine's OpenTelemetry metrics, through its Prometheus exporter)."""

    engine: regflow.Engine
    clock: Clock
    users: UserStore
    phones: AccountPhones
    drafts: FormDrafts = attrs.field(factory=FormDrafts)
    inbox: DevSmsInbox | None = None
    dev_clock: AdjustableClock | None = None
    metrics: CollectorRegistry = attrs.field(factory=CollectorRegistry)


def build_services(settings: Settings) -> Services:
    """Wire regflow for the portal: demo BHXH data, stores, SMS and clock by mode."""
    users, flows, phones = _stores(settings.database)
    seed_demo_accounts(users)
    dev_clock = AdjustableClock() if settings.dev_mode else None
    clock: Clock = dev_clock or SystemClock()
    inbox = DevSmsInbox(dev_clock) if dev_clock else None
    identity = settings.identity
    metrics = CollectorRegistry()
    engine = regflow.bootstrap(
        *(spec for spec in SHIPPED_FLOWS if identity or spec is not VNEID_REGISTRATION),
        *SHIPPED_OLDER_VERSIONS,
        PHONE_CHANGE,
        bhxh=InMemoryBhxhRegistry(demo_citizens()),
        sms=_sms(inbox, settings.sms),
        otp_secret=settings.otp_secret,
        previous_otp_secrets=settings.previous_otp_secrets,
        users=users,
        flows=flows,
        hasher=settings.hasher,
        clock=clock,
        policy=settings.policy,
        ports={"phones": phones, **({"identity": identity} if identity else {})},
        instrumentation=_instrumentation(metrics),
    )
    return Services(
        engine=engine,
        clock=clock,
        users=users,
        phones=phones,
        inbox=inbox,
        dev_clock=dev_clock,
        metrics=metrics,
    )


def _instrumentation(registry: CollectorRegistry) -> OpenTelemetryInstrumentation:
    """The engine's metrics, collected into `registry` whenever /metrics is scraped; its
    spans go to the host's global tracer provider (none unless one is configured)."""
    reader = PrometheusMetricReader(registry=registry)
    return OpenTelemetryInstrumentation(meter_provider=MeterProvider(metric_readers=[reader]))


def _sms(inbox: DevSmsInbox | None, configured: SmsGateway | None) -> SmsGateway:
    """The inbox in development; the configured gateway (checked by `Settings`) otherwise."""
    gateway = inbox or configured
    if gateway is None:  # development mode always has its inbox
        raise UnsafeSettingsError("no SMS gateway configured")
    return gateway


def _stores(database: str | None) -> tuple[UserStore, FlowStore, AccountPhones]:
    """Where accounts, flows and changed phones live: a SQLite file or a PostgreSQL database
    (the phones in the portal's own table of it), memory if unset."""
    if database is None:
        return InMemoryUserStore(), InMemoryFlowStore(), InMemoryAccountPhones()
    stores = regflow.open_stores(database)
    if database.startswith(POSTGRES_SCHEMES):
        from regflow.adapters.postgres import open_pool  # noqa: PLC0415 - an optional extra

        return stores.users, stores.flows, PostgresAccountPhones(open_pool(database))
    return stores.users, stores.flows, SqliteAccountPhones(database)
