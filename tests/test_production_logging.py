"""`regflow.production_logging`: the same audit lines as the documented JSON set-up, as
bytes, with no secret and no unmasked number; events below its level never built."""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

import structlog

import regflow
from regflow.testing import CITIZEN, FakePorts, FaultPlan, form_for

from .conftest import fresh_engine_logger
from .test_faults import PATHS, _play
from .test_secrets import TIMESTAMP_KEY, _leaks, _siem_configuration

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

#: The keys whose values differ from one run of a flow to the next: its random id, the
#: wall-clock time of the line.
PER_RUN = ("flow_id", TIMESTAMP_KEY)


def _happy_path() -> None:
    flow, path = next((flow, p) for flow, p in PATHS if p.end == "completed")
    _play(flow, path, FaultPlan(), None)


def _production_events(
    configure: Callable[[io.BytesIO], None], monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """The events of one completed flow under `configure`, each line parsed on its own.
    The engine gets a fresh logger proxy: the one it had cached its first configuration."""
    fresh_engine_logger(monkeypatch)
    buffer = io.BytesIO()
    configure(buffer)
    _happy_path()
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def _documented_events() -> list[dict[str, Any]]:
    """The same flow's events under docs/operations.md's SIEM set-up."""
    text = io.StringIO()
    exec(_siem_configuration(), {"sys": sys})  # noqa: S102 - the documented snippet
    structlog.configure(logger_factory=structlog.WriteLoggerFactory(file=text))
    _happy_path()
    return [json.loads(line) for line in text.getvalue().splitlines()]


def _per_run_removed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for event in events:
        for key in PER_RUN:
            assert event.pop(key), (key, event)
    return events


def test_the_lines_are_the_documented_set_up_s_keys_and_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documented = _per_run_removed(_documented_events())
    structlog.reset_defaults()
    produced = _production_events(regflow.configure_production_logging, monkeypatch)
    assert _per_run_removed(produced) == documented
    assert {e["event"] for e in produced} >= {"flow.started", "flow.transition"}


def test_no_line_holds_a_code_a_password_or_an_unmasked_number() -> None:
    buffer = io.BytesIO()
    regflow.configure_production_logging(buffer)
    ports = FakePorts.seeded()
    engine = ports.engine()
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, regflow.ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for(CITIZEN))
    code = ports.sms.last_code()
    engine.send(flow_id, regflow.ConfirmOtp(code))
    for line in buffer.getvalue().splitlines():
        event = json.loads(line)
        event.pop(TIMESTAMP_KEY)
        assert not _leaks(json.dumps(event, ensure_ascii=False), {code}), event


def test_without_orjson_the_standard_library_writes_the_same_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = _per_run_removed(_production_events(regflow.configure_production_logging, monkeypatch))
    structlog.reset_defaults()
    monkeypatch.setitem(sys.modules, "orjson", None)  # `import orjson` raises ImportError
    fallback = _production_events(regflow.configure_production_logging, monkeypatch)
    assert _per_run_removed(fallback) == fast


def test_at_warning_no_info_line_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    events = _production_events(
        lambda buffer: regflow.configure_production_logging(buffer, level=logging.WARNING),
        monkeypatch,
    )
    assert events == []


def test_stdout_by_default(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    structlog.configure(**regflow.production_logging())
    structlog.get_logger("host").info("host.started", port=8000)
    line = json.loads(capsysbinary.readouterr().out)
    assert line["event"] == "host.started"
    assert line["level"] == "info"


def test_each_line_names_its_level_as_structlogs_add_log_level_does() -> None:
    buffer = io.BytesIO()
    structlog.configure(**regflow.production_logging(buffer, level=logging.DEBUG))
    logger = structlog.get_logger("regflow.test")
    logger.info("a")
    logger.warning("b")
    try:
        raise ValueError("x")  # noqa: TRY301 - an exception to log
    except ValueError:
        logger.exception("c")
    logger.log(logging.CRITICAL, "d")

    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("a", "info"),
        ("b", "warning"),
        ("c", "error"),
        ("d", "critical"),
    ]
    assert all(line["logged_at"].endswith("Z") for line in lines)
