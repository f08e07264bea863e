"""The transition event follows the host's log level: written at INFO, dropped above it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
import structlog
from structlog.testing import LogCapture

from regflow import ChooseMethod
from regflow.testing import FakePorts

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def captured() -> Iterator[LogCapture]:
    saved = structlog.get_config()
    capture = LogCapture()
    yield capture
    structlog.configure(**saved)


def transition_events(capture: LogCapture, level: int) -> list[str]:
    structlog.configure(
        processors=[capture], wrapper_class=structlog.make_filtering_bound_logger(level)
    )
    engine = FakePorts.seeded().engine()
    engine.send(engine.start().flow_id, ChooseMethod("citizen", "bhxh"))
    return [entry["trigger"] for entry in capture.entries if entry["event"] == "flow.transition"]


def test_a_host_logging_at_info_gets_every_transition(captured: LogCapture) -> None:
    assert transition_events(captured, logging.INFO) == ["choose_method"]


def test_a_host_logging_at_warning_gets_no_transition(captured: LogCapture) -> None:
    assert transition_events(captured, logging.WARNING) == []


@pytest.fixture
def stdlib_at_info() -> Iterator[None]:
    logger = logging.getLogger("regflow")
    saved = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(saved)


@pytest.mark.usefixtures("stdlib_at_info")
def test_a_stdlib_logger_at_info_keeps_the_transition(captured: LogCapture) -> None:
    structlog.configure(
        processors=[captured],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
    )
    engine = FakePorts.seeded().engine()
    engine.send(engine.start().flow_id, ChooseMethod("citizen", "bhxh"))

    assert [e["event"] for e in captured.entries].count("flow.transition") == 1
