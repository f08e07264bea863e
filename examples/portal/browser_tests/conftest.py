"""One browser per session; per test, a fresh portal on its own port and a fresh browser context.

Set `REGFLOW_SCREENSHOTS=docs/images/portal` to refresh the embedding guide's screenshots;
otherwise they go to a temporary directory.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from regflow.testing import FastHasher
from regflow_portal import Settings, build_services, create_app, portal_server

from .citizen import Portal

if TYPE_CHECKING:
    from collections.abc import Iterator

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags this machine's Chromium has its connections refused.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/chromium.sh (scripts/test.sh does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("REGFLOW_SCREENSHOTS")
    if not wanted:
        return tmp_path_factory.mktemp("screenshots")
    folder = Path(wanted)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def serve(screenshots: Path, **settings: Any) -> Iterator[Portal]:  # noqa: ANN401 - Settings'
    """The portal in dev mode on a free loopback port, for as long as the caller iterates;
    `settings` add to or replace the test defaults (in-memory stores, the fast hasher)."""
    chosen = Settings(
        **{
            "secret_key": os.urandom(32),
            "otp_secret": os.urandom(32),
            "dev_mode": True,
            "secure_cookies": False,
            "hasher": FastHasher(),
            "purge_every": None,
            **settings,
        }
    )
    services = build_services(chosen)
    server = portal_server(create_app(chosen, services), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Portal(f"http://127.0.0.1:{server.port}", services, screenshots)
    server.shutdown()
    thread.join()


@pytest.fixture
def portal(screenshots: Path) -> Iterator[Portal]:
    yield from serve(screenshots)


@pytest.fixture
def page(browser: Browser, portal: Portal) -> Iterator[Page]:
    context = browser.new_context(
        base_url=portal.url, viewport={"width": 900, "height": 640}, locale="vi-VN"
    )
    opened = context.new_page()
    yield opened
    context.close()
