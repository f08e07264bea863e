"""The Python of the guides (README, quick start, migrating, diagrams, observability), run
in order, page by page, with fakes standing in for the host's own objects the snippets name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from regflow import ChooseMethod
from regflow.adapters.sqlite import SqliteFlowStore, SqliteUserStore
from regflow.engine import codec
from regflow.testing import FakePorts, form_for

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    "README.md",
    "docs/quickstart.md",
    "docs/migrating.md",
    "docs/diagrams.md",
    "docs/observability.md",
]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks(page: str) -> list[str]:
    return BLOCK.findall((ROOT / page).read_text(encoding="utf-8"))


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What a host has at hand where the snippets say `my_…`: its adapters, a secret, a
    stored flow (`flows`, `flow_id`, its document `text`)."""
    monkeypatch.chdir(tmp_path)  # `regflow.bootstrap` keeps its SQLite file here
    ports = FakePorts.seeded()
    flows = SqliteFlowStore(tmp_path / "host.sqlite3")
    ports.flows = flows  # type: ignore[assignment]  # the fakes' engine, on a SQLite store
    engine = ports.engine()
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for())
    stored = flows.load(flow_id)
    assert stored is not None
    return {
        "my_bhxh_client": ports.bhxh,
        "my_sms_gateway": ports.sms,
        "my_flow_store": ports.flows,
        "my_user_store": SqliteUserStore(tmp_path / "host.sqlite3"),
        "my_hasher": ports.hasher,
        "my_clock": ports.clock,
        "secret": ports.otp_secret,
        "SECRET_32_BYTES": ports.otp_secret,
        "flows": flows,
        "flow_id": flow_id,
        "text": codec.dumps(stored),
    }


@pytest.mark.parametrize("page", PAGES)
def test_every_python_block_of_the_page_runs(page: str, host: dict[str, Any]) -> None:
    found = blocks(page)
    assert found, page
    for body in found:
        exec(compile(body, str(ROOT / page), "exec"), host)  # noqa: S102 - our own docs
