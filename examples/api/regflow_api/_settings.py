"""The JSON API's settings, from `REGFLOW_API_*` environment variables (or given in code)."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Mapping

#: The header every POST must carry (`ApiSettings.csrf_header`): a cross-site page cannot
#: send it without a CORS preflight, which only the allowed origins pass.
CSRF_HEADER = "X-Regflow-Request"
#: A `REGFLOW_API_DATABASE` that names a PostgreSQL server rather than a SQLite file.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
MIN_SECRET_BYTES = 32


class UnsafeSettingsError(ValueError):
    """The settings would run production without what it needs: the API refuses to start."""


def _origins(text: str) -> tuple[str, ...]:
    return tuple(origin.strip() for origin in text.split(",") if origin.strip())


@attrs.frozen(kw_only=True)
class ApiSettings:
    """How the API runs.

    - `database`: a SQLite file (the default) or a ``postgresql://`` DSN;
    - `origins`: the front-ends' origins CORS lets call the API (none: same origin only);
    - `csrf_header`: the header a POST must carry (empty: none required, for a host that
      checks requests otherwise);
    - `max_body`: the largest request body, in bytes (413 past it);
    - `dev`: the demo BHXH citizens and an SMS inbox in memory, a made-up OTP secret;
    - `otp_secret` (hex), `bhxh_url`, `sms_url`: production's secret and services;
    - `redis_url`: where the engine's rate limits are counted, shared by every worker process
      (none: in each process's memory, which only a single process may use).
    """

    database: str = "regflow-api.sqlite3"
    origins: tuple[str, ...] = ()
    csrf_header: str = CSRF_HEADER
    max_body: int = 16 * 1024
    dev: bool = False
    otp_secret: str = ""
    bhxh_url: str = ""
    sms_url: str = ""
    redis_url: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ApiSettings:
        """The settings `REGFLOW_API_DATABASE`, `_ORIGINS` (comma-separated), `_CSRF_HEADER`,
        `_DEV`, `_OTP_SECRET`, `_BHXH_URL`, `_SMS_URL` and `_REDIS_URL` say, the defaults
        for the rest."""
        given: dict[str, Any] = {
            "database": environ.get("REGFLOW_API_DATABASE"),
            "csrf_header": environ.get("REGFLOW_API_CSRF_HEADER"),
            "otp_secret": environ.get("REGFLOW_API_OTP_SECRET"),
            "bhxh_url": environ.get("REGFLOW_API_BHXH_URL"),
            "sms_url": environ.get("REGFLOW_API_SMS_URL"),
            "redis_url": environ.get("REGFLOW_API_REDIS_URL"),
        }
        chosen = {name: value for name, value in given.items() if value is not None}
        origins = _origins(environ.get("REGFLOW_API_ORIGINS", ""))
        return cls(origins=origins, dev=environ.get("REGFLOW_API_DEV") == "1", **chosen)

    @property
    def postgres(self) -> bool:
        return self.database.startswith(POSTGRES_SCHEMES)

    def secret(self) -> bytes:
        """The OTP key: production's, checked, or in development one made up for the run."""
        if self.dev and not self.otp_secret:
            return secrets.token_bytes(MIN_SECRET_BYTES)
        try:
            key = bytes.fromhex(self.otp_secret)
        except ValueError:
            key = b""
        if len(key) < MIN_SECRET_BYTES:
            raise UnsafeSettingsError("REGFLOW_API_OTP_SECRET must be 32+ random bytes in hex")
        return key
