"""Django set up with the tests' settings (no pytest-django: it would configure Django for the
whole run), and one portal per test on each database, driven by Django's test client."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import attrs
import django
import pytest

os.environ["DJANGO_SETTINGS_MODULE"] = "django_portal.tests.settings"
# Playwright's sync API runs an event loop in the main thread for as long as a browser is open
# (the portal's browser tests keep one for the whole run), and Django then refuses every query
# from that thread; nothing here is asynchronous, so tell Django the queries are safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
django.setup()

from django.conf import settings  # noqa: E402 - after django.setup()
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from django_portal.config import PortalSettings  # noqa: E402
from django_portal.models import PortalAccount  # noqa: E402
from django_portal.tests.settings import SQLITE_FILE  # noqa: E402
from django_portal.wiring import Services, services  # noqa: E402
from regflow.testing import FakeClock, FastHasher, SmsInbox  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

    from django.http import HttpResponse

NO_POSTGRES = "no PostgreSQL for the Django tests: set REGFLOW_TEST_POSTGRES_DSN"
_migrated: set[str] = set()


def pytest_unconfigure() -> None:
    connections.close_all()
    shutil.rmtree(SQLITE_FILE.parent, ignore_errors=True)


def prepared(alias: str) -> str:
    """The database `alias`, migrated, with no account in it (flows have ids of their own)."""
    if alias not in settings.DATABASES:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true needs the PostgreSQL tests to run, but " + NO_POSTGRES)
        pytest.skip(NO_POSTGRES)
    if alias not in _migrated:
        call_command("migrate", database=alias, verbosity=0, interactive=False)
        _migrated.add(alias)
    PortalAccount.objects.using(alias).all().delete()
    return alias


@pytest.fixture(params=["default", "postgres"], ids=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str:
    """Each database: the SQLite file, and PostgreSQL where `REGFLOW_TEST_POSTGRES_DSN` is."""
    return prepared(request.param)


@attrs.frozen
class Portal:
    """The project on one database, with the fakes a test reads and a CSRF-checking client."""

    client: Client
    sms: SmsInbox
    clock: FakeClock
    services: Services

    def get(self, path: str) -> HttpResponse:
        return self.client.get(path, follow=True)  # type: ignore[return-value]

    def post(self, path: str, **fields: str) -> HttpResponse:
        """Post the form as a browser would: its fields and the CSRF token of the cookie."""
        token = self.client.cookies["csrftoken"].value
        sent = {"csrfmiddlewaretoken": token, **fields}
        return self.client.post(path, sent, follow=True)  # type: ignore[return-value]


def portal_settings(database: str) -> tuple[PortalSettings, SmsInbox, FakeClock]:
    sms, clock = SmsInbox(), FakeClock()
    chosen = PortalSettings(
        otp_secret=os.urandom(32), sms=sms, database=database, hasher=FastHasher(), clock=clock
    )
    return chosen, sms, clock


@pytest.fixture
def portal(database: str) -> Iterator[Portal]:
    chosen, sms, clock = portal_settings(database)
    with override_settings(REGFLOW_PORTAL=chosen):
        client = Client(enforce_csrf_checks=True)
        client.get("/")  # the CSRF cookie, as a browser gets it on the home page
        yield Portal(client, sms, clock, services())
