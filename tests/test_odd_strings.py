"""Odd strings from a broken or hostile client: an answer for each, never an exception.

`tests/test_fuzz.py` throws every code point at every string argument; these are the cases
an outside review found, each pinned down on its own.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
import structlog
from structlog.testing import capture_logs

from regflow import ChooseMethod, Engine, FlowSnapshot, State, open_stores
from regflow.testing import FakePorts, form_for

from .conftest import at_form

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LONE_SURROGATE = "\ud800"
DIGEST = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def sqlite_ports(tmp_path: Path) -> Iterator[FakePorts]:
    ports = FakePorts.seeded()
    with open_stores(tmp_path / "regflow.sqlite3") as stores:
        ports.users, ports.flows = stores.users, stores.flows  # type: ignore[assignment]
        yield ports


def test_a_lone_surrogate_in_the_client_key_is_counted_and_logged_as_a_digest(
    ports: FakePorts,
) -> None:
    engine = ports.engine(limiter=ports.limiter)
    flow_id = at_form(engine).flow_id

    with capture_logs() as logs:
        view = engine.send(flow_id, form_for(), client=LONE_SURROGATE)

    assert view.state is State.OTP_PENDING, view.errors
    [transition] = [entry for entry in logs if entry["event"] == "flow.transition"]
    assert DIGEST.fullmatch(transition["client"])


@pytest.mark.parametrize(
    "flow_id",
    [LONE_SURROGATE, "a\x00b", "x" * 1_000_000, "é" * 22],
    ids=["lone surrogate", "NUL", "1 MB", "22 letters not of base64url"],
)
def test_a_flow_id_the_engine_cannot_have_given_is_not_found_on_sqlite(
    sqlite_ports: FakePorts, flow_id: str
) -> None:
    engine = sqlite_ports.engine()

    with capture_logs() as logs:
        views = [engine.view(flow_id), engine.send(flow_id, ChooseMethod("citizen", "bhxh"))]

    assert [view.error_codes() for view in views] == [("flow.not_found",)] * 2
    assert [view.flow_id for view in views] == ["", ""]  # the input is not echoed either
    assert logs == []


class WatchedFlowStore:
    """A flow store that records the ids it is asked for, and chokes on any it could not hold."""

    def __init__(self, ports: FakePorts) -> None:
        self.flows = ports.flows
        self.asked: list[object] = []

    def load(self, flow_id: str) -> FlowSnapshot | None:
        self.asked.append(flow_id)
        if not isinstance(flow_id, str):
            raise TypeError("a flow id is text")
        return self.flows.load(flow_id)

    def save(self, snapshot: FlowSnapshot) -> None:
        self.flows.save(snapshot)

    def purge_expired(self, now: object) -> int:
        raise NotImplementedError


@pytest.mark.parametrize("flow_id", [["a list"], 42, None, b"bytes", 1.5, "no-such-flow"])
def test_a_flow_id_not_of_the_engines_shape_is_not_found_without_asking_the_store(
    ports: FakePorts, flow_id: Any
) -> None:
    store = WatchedFlowStore(ports)
    ports.flows = store  # type: ignore[assignment]
    engine = ports.engine()

    with capture_logs() as logs:
        views = [engine.view(flow_id), engine.send(flow_id, ChooseMethod("citizen", "bhxh"))]

    assert [view.error_codes() for view in views] == [("flow.not_found",)] * 2
    assert store.asked == []
    assert not [entry for entry in logs if entry["event"] == "flow.port_failed"]


def failing_renderer(*_: object) -> str:
    raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "the host's log stream refuses it")


@pytest.fixture
def failing_logging() -> Iterator[None]:
    saved = structlog.get_config()
    structlog.configure(processors=[failing_renderer])
    yield
    structlog.configure(**saved)


@pytest.mark.usefixtures("failing_logging")
def test_logging_that_fails_cannot_undo_or_break_a_step(ports: FakePorts) -> None:
    engine: Engine = ports.engine()
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))

    view = engine.send(flow_id, form_for())

    assert view.state is State.OTP_PENDING, view.errors
    assert view.ok
    assert engine.view(flow_id).state is State.OTP_PENDING
    assert len(ports.sms.sent) == 1
