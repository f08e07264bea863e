"""Every Python block of the README and of docs/, run as written.

Most pages are run here: their blocks in order, in one namespace per page, in an empty working
directory, with nothing defined beforehand (a page that needs a host's objects makes stand-ins
for them in a block of its own, for the reader to see). A Flask handler is run too, by the
page's own block that drives it with Flask's test client. Three pages are projects of their
own and are run by their own tests (`RUN_BY`); a block that includes a file's section
(pymdownx.snippets' `--8<--` block of one `file:section`) shows code the file's own tests run.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import structlog

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
INCLUDE = re.compile(r"^--8<--\n([^:\n]+):(\w+)\n--8<--$")
RUN_HERE = [
    "README.md",
    "docs/quickstart.md",
    "docs/migrating.md",
    "docs/diagrams.md",
    "docs/embedding.md",
    "docs/operations.md",
    "docs/deployment.md",
    "docs/errors.md",
    "docs/vneid.md",
    "docs/versioning.md",
    "docs/hooks.md",
    "docs/observability.md",
    "docs/api.md",
    "docs/outbox.md",
]
#: The servers a page's examples talk to: the variable they read, and where the tests get it.
SERVERS = {
    "REGFLOW_POSTGRES_DSN": "REGFLOW_TEST_POSTGRES_DSN",  # scripts/postgres.sh
    "REGFLOW_REDIS_URL": "REGFLOW_REDIS_URL",  # scripts/redis.sh
}
#: Pages whose blocks are the files of an example project, and the test that runs it.
RUN_BY = {
    "docs/tutorial.md": "examples/phone_change/tests/test_tutorial.py",
    "docs/testing.md": "tests/test_testing_docs.py",
    "docs/adapters.md": "tests/test_adapters_doc.py",
}


def blocks(page: str) -> list[str]:
    return BLOCK.findall((ROOT / page).read_text(encoding="utf-8"))


def pages_with_python() -> set[str]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return {page.relative_to(ROOT).as_posix() for page in pages if blocks(str(page))}


def test_every_page_with_python_is_run_here_or_by_its_own_test() -> None:
    assert pages_with_python() == set(RUN_HERE) | set(RUN_BY)
    for test in RUN_BY.values():
        assert (ROOT / test).is_file(), test


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory (`regflow.bootstrap` keeps its SQLite file there);
    structlog's configuration put back after a page that configures it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGFLOW_DATABASE", raising=False)
    saved = structlog.get_config()
    yield tmp_path
    structlog.configure(**saved)


def _close_process_pools() -> None:
    """Close the PostgreSQL pools a page left open: `bootstrap(database="postgresql://…")`
    keeps one for the life of the process, which the process's exit would close."""
    pools = sys.modules.get("psycopg_pool")
    if pools is None:
        return
    for found in gc.get_objects():
        if isinstance(found, pools.ConnectionPool) and not found.closed:
            found.close()


def servers(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the variables the page's examples read at the test servers; without one, skip
    (fail in CI, where every server runs)."""
    text = (ROOT / page).read_text(encoding="utf-8")
    for variable, source in SERVERS.items():
        if variable not in text:
            continue
        value = os.environ.get(source)
        if not value:
            missing = f"{page} needs ${source} (scripts/test.sh sets it)"
            if os.environ.get("CI") == "true":
                pytest.fail(missing)
            pytest.skip(missing)
        monkeypatch.setenv(variable, value)


def includes_a_section(body: str) -> bool:
    """Whether the block is a section of a file (checked to exist there), which the file's own
    tests run, rather than code of its own."""
    found = INCLUDE.match(body.strip())
    if found is None:
        return False
    path, section = found.groups()
    text = (ROOT / path).read_text(encoding="utf-8")
    start, end = f"# --8<-- [start:{section}]\n", f"# --8<-- [end:{section}]\n"
    assert start in text, (path, section)
    assert end in text.split(start, 1)[1], (path, section)
    return True


@pytest.mark.usefixtures("empty_folder")
@pytest.mark.parametrize("page", RUN_HERE)
def test_every_python_block_of_the_page_runs_as_written(
    page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    servers(page, monkeypatch)
    found = blocks(page)
    namespace: dict[str, Any] = {"__name__": page}
    assert found, page
    for body in found:
        if not includes_a_section(body):
            exec(compile(body, str(ROOT / page), "exec"), namespace)  # noqa: S102 - our own docs
    _close_process_pools()  # while the page's objects are still alive
