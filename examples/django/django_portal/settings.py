"""The Django project's settings, for development: `DEBUG`, the demo BHXH registry, OTPs
printed on the server's console (README.md says what production changes).

`REGFLOW_DJANGO_DATABASE` is a ``postgresql://`` URL or a SQLite file (default
``examples/django/db.sqlite3``); the accounts and the flows both live there. The secrets are
`REGFLOW_DJANGO_SECRET_KEY` and `REGFLOW_DJANGO_OTP_SECRET` (hex), made up per process when
unset: a restart then signs the citizen out and voids the codes already sent.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django_portal.config import PortalSettings
from regflow.adapters.console import ConsoleSmsGateway

HERE = Path(__file__).resolve().parent


def database(url: str) -> dict[str, object]:
    """Django's `DATABASES` entry for a PostgreSQL URL (psycopg parses it) or a SQLite path."""
    if not url.startswith(("postgresql://", "postgres://")):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url}
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - the postgres extra

    params = conninfo_to_dict(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params.get("dbname", ""),
        "USER": params.get("user", ""),
        "PASSWORD": params.get("password", ""),
        "HOST": params.get("host", ""),
        "PORT": params.get("port", ""),
    }


def _secret(name: str) -> str:
    """A secret from the environment, or one made up for this process (development)."""
    return os.environ.get(name) or secrets.token_hex(32)


DEBUG = True
SECRET_KEY = _secret("REGFLOW_DJANGO_SECRET_KEY")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["django_portal"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "django_portal.urls"
WSGI_APPLICATION = "django_portal.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "django_portal.views.texts",
            ]
        },
    }
]
DATABASES = {
    "default": database(os.environ.get("REGFLOW_DJANGO_DATABASE", str(HERE.parent / "db.sqlite3")))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The session holds the flow id and the language only: a signed cookie, no session table.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
USE_TZ = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
LANGUAGE_CODE = "vi"

REGFLOW_PORTAL = PortalSettings(
    otp_secret=bytes.fromhex(_secret("REGFLOW_DJANGO_OTP_SECRET")),
    sms=ConsoleSmsGateway(),  # prints each OTP to the server's console: development only
)
