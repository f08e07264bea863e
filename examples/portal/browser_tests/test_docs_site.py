"""The documentation site, built as CI builds it and read on a closed network: every request
that leaves the loopback interface is aborted, and every Mermaid diagram must still be drawn
(by the copy of Mermaid vendored in docs/assets/javascripts, not by a CDN's)."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Route

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
MERMAID_VERSION = "11.17.2"  # docs/assets/javascripts/mermaid.LICENSE.txt
FENCE = re.compile(r"^```mermaid$", re.MULTILINE)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Material draws each diagram into a closed shadow root; opened, the test's selectors reach it.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attach.call(this, {...init, mode: "open"});
};
"""


def diagrams_per_page() -> dict[str, int]:
    """Each page's URL in the built site, with the number of Mermaid blocks of its source."""
    found = {}
    for page in sorted(DOCS.rglob("*.md")):
        count = len(FENCE.findall(page.read_text(encoding="utf-8")))
        if count:
            found[page.relative_to(DOCS).with_suffix("").as_posix() + "/"] = count
    return found


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """The test reads the page, not the server's access log."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site as `mkdocs build --strict` makes it, served on a free loopback port."""
    folder = tmp_path_factory.mktemp("site")
    subprocess.run(  # noqa: S603 - our own docs build
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", folder],
        cwd=ROOT,
        check=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join()
    server.server_close()


def test_the_docs_name_mermaid_pages_to_check() -> None:
    pages = diagrams_per_page()

    assert "architecture/" in pages
    assert pages["flows/bhxh_registration/"] == 4  # versions 1 and 2 are drawn on the page too


def test_the_vendored_mermaid_is_the_recorded_version() -> None:
    script = (DOCS / "assets/javascripts/mermaid.min.js").read_text(encoding="utf-8")
    notice = (DOCS / "assets/javascripts/mermaid.LICENSE.txt").read_text(encoding="utf-8")

    assert f'version:"{MERMAID_VERSION}"' in script
    assert notice.startswith(f"mermaid {MERMAID_VERSION} ")
    assert "The MIT License (MIT)" in notice


@pytest.mark.parametrize(("page", "diagrams"), sorted(diagrams_per_page().items()))
def test_every_diagram_is_drawn_with_no_network_beyond_loopback(
    browser: Browser, site: str, page: str, diagrams: int
) -> None:
    blocked: list[str] = []

    def closed_network(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
            return
        blocked.append(route.request.url)
        route.abort("internetdisconnected")

    context = browser.new_context()
    context.route("**/*", closed_network)
    context.add_init_script(OPEN_SHADOW_ROOTS)
    tab = context.new_page()
    tab.goto(site + page)
    drawn = tab.locator(".mermaid svg")
    drawn.nth(diagrams - 1).wait_for(state="attached")

    assert drawn.count() == diagrams
    assert tab.locator("pre.mermaid, code:has-text('stateDiagram-v2')").count() == 0
    assert drawn.first.bounding_box()["height"] > 100  # type: ignore[index]
    assert tab.locator(".mermaid svg .node").count() > 0
    assert blocked == []  # the site asks nothing of the outside
    context.close()
