"""The JSON API as `bench/http_load.py` serves it under uvicorn: ``http_api:app``.

The API's own app (`regflow_api.create_app`), wired as `bench/http_portal.py` wires the portal:
the async PostgreSQL stores, the limits in the bench's Redis (`REGFLOW_API_REDIS_URL`'s
`AsyncLimitsRateLimiter`), the production argon2id hasher in threads (`open_engine`'s
`InThreads`), the benchmark's citizens as the BHXH registry, and the SMS texts pushed on the
same Redis lists the load generator reads the codes from, by `redis.asyncio` so no text
blocks the event loop. Settings come from ``REGFLOW_BENCH_*`` (set by `http_load.py`).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import redis.asyncio
import structlog

import regflow
from http_load import SMS_KEY, citizens
from regflow.adapters.memory import InMemoryBhxhRegistry
from regflow_api import ApiSettings, create_app

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fastapi import FastAPI

    from regflow import SmsMessage


class AsyncRedisSmsSink:
    """`AsyncSmsGateway` that pushes each text on a Redis list of its phone (one network call
    per text, as a provider's API would be), for the load generator to read."""

    def __init__(self, url: str) -> None:
        self._redis = redis.asyncio.Redis.from_url(url)

    async def send(self, phone: str, message: SmsMessage) -> None:
        await self._redis.rpush(SMS_KEY.format(phone=phone), message.text)  # type: ignore[misc]


def api(env: Mapping[str, str]) -> FastAPI:
    """Production settings (no dev mode: a real OTP secret), the bench's services."""
    redis_url = env["REGFLOW_BENCH_REDIS_URL"]
    settings = ApiSettings(
        database=env["REGFLOW_BENCH_DATABASE"],
        otp_secret=env["REGFLOW_BENCH_OTP_SECRET"],
        redis_url=redis_url,
    )
    registry = InMemoryBhxhRegistry(citizens(int(env["REGFLOW_BENCH_CITIZENS"])))
    return create_app(settings=settings, bhxh=registry, sms=AsyncRedisSmsSink(redis_url))


#: Production logging (JSON lines at INFO, the audit line of every request) to /dev/null.
structlog.configure(**regflow.production_logging(open(os.devnull, "wb"), logging.INFO))  # noqa: SIM115, PTH123 - lives as long as the worker
app = api(os.environ)
