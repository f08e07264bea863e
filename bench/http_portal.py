"""The reference portal as `bench/http_load.py` serves it under gunicorn: ``http_portal:app``.

The portal's own app (`regflow_portal.create_app`) in production mode, wired as a portal
that runs several processes must be: PostgreSQL stores, the Redis rate limiter shared by
every worker, the production argon2id hasher. Two things differ from `build_services`, both
because the load comes from a benchmark: the BHXH registry holds the benchmark's citizens
(`http_load.citizens`), and the SMS gateway is a sink in the same Redis (`RedisSmsSink`), which the
load generator reads the codes from — the demo's inbox (/dev/sms) lives in one process's
memory, so with two workers half the codes would be in the other one. Settings come from
``REGFLOW_BENCH_*`` (set by `http_load.py`).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import redis
import structlog

import regflow
from http_load import SMS_KEY, citizens
from phone_change import PHONE_CHANGE, PostgresAccountPhones
from regflow import SHIPPED_FLOWS, VNEID_REGISTRATION, SmsMessage
from regflow.adapters.limits import LimitsRateLimiter
from regflow.adapters.memory import InMemoryBhxhRegistry
from regflow.adapters.postgres import open_pool
from regflow.adapters.system import SystemClock
from regflow_portal import Services, Settings, create_app

if TYPE_CHECKING:
    from collections.abc import Mapping


class RedisSmsSink:
    """`SmsGateway` that pushes each text on a Redis list of its phone, for the load
    generator to read: one network call per text, as a provider's API would be."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)

    def send(self, phone: str, message: SmsMessage) -> None:
        self._redis.rpush(SMS_KEY.format(phone=phone), message.text)


def services(env: Mapping[str, str]) -> Services:
    """One worker's engine and stores, from ``REGFLOW_BENCH_*``."""
    database, redis_url = env["REGFLOW_BENCH_DATABASE"], env["REGFLOW_BENCH_REDIS_URL"]
    stores, phones = regflow.open_stores(database), PostgresAccountPhones(open_pool(database))
    clock = SystemClock()
    engine = regflow.bootstrap(
        *(spec for spec in SHIPPED_FLOWS if spec is not VNEID_REGISTRATION),
        PHONE_CHANGE,
        bhxh=InMemoryBhxhRegistry(citizens(int(env["REGFLOW_BENCH_CITIZENS"]))),
        sms=RedisSmsSink(redis_url),
        otp_secret=bytes.fromhex(env["REGFLOW_BENCH_OTP_SECRET"]),
        users=stores.users,
        flows=stores.flows,
        clock=clock,
        limiter=LimitsRateLimiter(redis_url),
        ports={"phones": phones},
    )
    return Services(engine=engine, clock=clock, users=stores.users, phones=phones)


def settings(env: Mapping[str, str]) -> Settings:
    """Production mode, but for plain HTTP on loopback (TLS ends at a proxy in production)."""
    return Settings(
        secret_key=bytes.fromhex(env["REGFLOW_BENCH_SECRET_KEY"]),
        otp_secret=bytes.fromhex(env["REGFLOW_BENCH_OTP_SECRET"]),
        secure_cookies=False,
        sms=RedisSmsSink(env["REGFLOW_BENCH_REDIS_URL"]),
        proxy_hops=1,  # each citizen's address in X-Forwarded-For, as a proxy sets it
        purge_every=None,
    )


#: Production logging (JSON lines at INFO, the audit line of every request) to /dev/null.
structlog.configure(**regflow.production_logging(open(os.devnull, "wb"), logging.INFO))  # noqa: SIM115, PTH123 - lives as long as the worker
app = create_app(settings(os.environ), services(os.environ))
