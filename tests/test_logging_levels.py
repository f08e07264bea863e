"""The transition event follows the host's logging: built and written when it is kept,
not even built when structlog's filtering logger would drop it, and always seen by the
regflow listeners (the scenario runner, transition coverage) and a stdlib set-up's processors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
import structlog
from structlog.testing import LogCapture

from regflow import ChooseMethod
from regflow.analysis import regflow_declaration, terminal_paths
from regflow.testing import FakePorts, ScenarioRunner

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def captured() -> Iterator[LogCapture]:
    saved = structlog.get_config()
    capture = LogCapture()
    yield capture
    structlog.configure(**saved)


def events_of_one_transition(capture: LogCapture, **config: object) -> list[str]:
    structlog.configure(processors=[capture], **config)  # type: ignore[arg-type]
    engine = FakePorts.seeded().engine()
    flow_id = engine.start("bhxh_registration").flow_id
    capture.entries.clear()
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    return [entry["event"] for entry in capture.entries]


def test_a_host_logging_at_info_gets_every_transition(captured: LogCapture) -> None:
    kept = structlog.make_filtering_bound_logger(logging.INFO)
    assert events_of_one_transition(captured, wrapper_class=kept) == ["flow.transition"]


def test_a_host_logging_at_warning_gets_no_transition(captured: LogCapture) -> None:
    dropped = structlog.make_filtering_bound_logger(logging.WARNING)
    assert events_of_one_transition(captured, wrapper_class=dropped) == []


def test_a_generic_bound_logger_gets_the_transition_and_nothing_else(
    captured: LogCapture,
) -> None:
    """structlog's generic wrapper answers every name, `is_enabled_for` too: it is not asked."""
    events = events_of_one_transition(captured, wrapper_class=structlog.BoundLogger)
    assert events == ["flow.transition"]


def test_a_stdlib_set_up_hands_the_transition_to_its_processors(captured: LogCapture) -> None:
    """The stdlib `regflow` logger is at WARNING, but processors run before it filters."""
    assert not logging.getLogger("regflow").isEnabledFor(logging.INFO)
    events = events_of_one_transition(
        captured,
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
    )
    assert events == ["flow.transition"]


def test_the_scenario_runner_sees_transitions_when_the_host_drops_info() -> None:
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        declaration = regflow_declaration()
        path = next(p for p in terminal_paths(declaration) if p.states[-1] == "completed")
        visited = ScenarioRunner().run(path)
    finally:
        structlog.configure(**saved)

    assert visited[-1] is not None
    assert visited[-1] == "completed"
