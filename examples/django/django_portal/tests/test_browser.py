"""One citizen registers in Chromium, against the project served over HTTP on 127.0.0.1.

Django's own live-server test cases run inside its test runner; here the project's WSGI
handler runs in Werkzeug's threaded server on a free port, on the SQLite database.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from browser_tests.conftest import CHROMIUM, CHROMIUM_ARGS
from django_portal.tests.conftest import portal_settings, prepared
from regflow.testing import SmsInbox

from .test_screens import CITIZEN, PASSWORD, form_of

if TYPE_CHECKING:
    from collections.abc import Iterator


@attrs.frozen
class Served:
    url: str
    sms: SmsInbox


@pytest.fixture
def served() -> Iterator[Served]:
    chosen, sms, _ = portal_settings(prepared("default"))
    with override_settings(REGFLOW_PORTAL=chosen):
        server = make_server("127.0.0.1", 0, WSGIHandler(), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield Served(f"http://127.0.0.1:{server.server_port}", sms)
        server.shutdown()
        thread.join()


def register_in_chromium(served: Served) -> str:
    """The happy path in a fresh Chromium; the URL it ends on."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(base_url=served.url, locale="vi-VN").new_page()
        page.goto("/")
        page.click("#register")
        page.check("input[name=subject]")
        page.check("input[name=method]")
        page.click("#next")
        for name, value in form_of().items():
            page.fill(f"#{name}", value)
        page.click("#submit-details")
        expect(page.locator("#otp-lead")).to_be_visible()
        page.fill("#code", served.sms.last_code())
        page.click("#confirm")
        page.fill("#password", PASSWORD)
        page.fill("#confirmation", PASSWORD)
        page.click("#finish")
        expect(page.locator("#done-lead")).to_contain_text(CITIZEN.full_name)
        ended_on = page.url
        browser.close()
    return ended_on


def test_a_citizen_registers_in_the_browser(served: Served) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/chromium.sh (scripts/test.sh does)")
    # Playwright's sync API refuses a thread where another browser's event loop runs (the
    # portal's tests keep theirs open for the whole run): this one runs on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as thread:
        ended_on = thread.submit(register_in_chromium, served).result()

    assert ended_on == f"{served.url}/register/done"
