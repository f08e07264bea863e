"""No secret in any log line or stored snapshot; one JSON audit line per transition.

Every generated path of `test_faults` runs clean and with a fault at every port call, then the
rate-limit attacks and a flow over the HTTP adapters, all under the SIEM configuration of
`docs/operations.md` (read from the page, so the documented one is the tested one).
"""

from __future__ import annotations

import contextlib
import hmac
import io
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import structlog

from regflow import FlowSnapshot, mask_id
from regflow.adapters.http import HttpBhxhRegistry, HttpSettings, HttpSmsGateway
from regflow.engine import codec as json_codec
from regflow.testing import (
    CITIZEN,
    STRONG_PASSWORD,
    FakePorts,
    Fault,
    FaultPlan,
    InMemoryFlowStore,
    ScenarioRunner,
    SmsInbox,
    form_for,
)

from .test_faults import PATHS, _play, campaign
from .test_http_adapters import RECORD, _engine
from .test_rate_limits import (
    test_otp_guessing_locks_the_flow_after_five_and_never_succeeds,
    test_sms_pumping_one_phone_gets_no_more_than_the_daily_limit,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_httpserver import HTTPServer

    from regflow import SmsMessage

OPERATIONS = Path(__file__).parent.parent / "docs" / "operations.md"
SIEM_MARKER = "# SIEM: one JSON object per line"
#: Every spelling of the citizen's numbers that would give them away.
NUMBERS = ("912345678", CITIZEN.id_number, CITIZEN.bhxh_number)
TIMESTAMP_KEY = "logged_at"  # real time: its microseconds could look like a code


def _siem_configuration() -> str:
    blocks: list[str] = re.findall(r"```python\n(.*?)```", OPERATIONS.read_text(), flags=re.DOTALL)
    return next(block for block in blocks if block.startswith(SIEM_MARKER))


@pytest.fixture
def siem_lines() -> Iterator[io.StringIO]:
    """structlog configured as documented for a SIEM, writing to a buffer."""
    saved = structlog.get_config()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(_siem_configuration(), {})  # noqa: S102 - the documented snippet, as written
    yield buffer
    structlog.configure(**saved)


@pytest.fixture
def snapshots(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every snapshot any in-memory store saves, as a text store would keep it."""
    saved: list[str] = []
    original = InMemoryFlowStore.save

    def save(self: InMemoryFlowStore, snapshot: FlowSnapshot) -> None:
        saved.append(json_codec.dumps(snapshot))
        original(self, snapshot)

    monkeypatch.setattr(InMemoryFlowStore, "save", save)
    return saved


@pytest.fixture
def codes_sent(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every OTP any fake SMS gateway was given."""
    codes: set[str] = set()
    original = SmsInbox.send

    def send(self: SmsInbox, phone: str, message: SmsMessage) -> None:
        codes.update(re.findall(r"\b\d{6}\b", message.text))
        original(self, phone, message)

    monkeypatch.setattr(SmsInbox, "send", send)
    return codes


def _events(buffer: io.StringIO) -> list[dict[str, Any]]:
    lines = buffer.getvalue().splitlines()
    return [json.loads(line) for line in lines]  # each line one JSON object, or this fails


def _leaks(text: str, codes: set[str], *, numbers: bool = True) -> list[str]:
    """The secrets in `text`: a code counts as a whole token (hex ids hold digit runs)."""
    tokens = set(re.findall(r"[0-9A-Za-z]+", text))
    found = [code for code in codes if code in tokens]
    secrets = [STRONG_PASSWORD, *(NUMBERS if numbers else ())]
    return found + [secret for secret in secrets if secret in text]


def test_no_log_line_or_snapshot_holds_a_secret(
    siem_lines: io.StringIO,
    snapshots: list[str],
    codes_sent: set[str],
    caplog: pytest.LogCaptureFixture,
    httpserver: HTTPServer,
) -> None:
    caplog.set_level(logging.DEBUG)
    for flow, path in PATHS:
        for fault in Fault:
            campaign(flow, path, fault)
    test_sms_pumping_one_phone_gets_no_more_than_the_daily_limit()
    test_otp_guessing_locks_the_flow_after_five_and_never_succeeds()
    _flow_over_http(httpserver)

    events = _events(siem_lines)
    assert len(codes_sent) > 100
    assert len(events) > 1_000
    for event in events:
        event.pop(TIMESTAMP_KEY)
        assert not _leaks(json.dumps(event, ensure_ascii=False), codes_sent), event
    for record in caplog.records:  # httpx, werkzeug and any other stdlib logger
        assert not _leaks(record.getMessage(), codes_sent), record.getMessage()
    for snapshot in snapshots:  # the citizen's record is stored by design: numbers allowed
        assert not _leaks(snapshot, codes_sent, numbers=False), snapshot


def _flow_over_http(server: HTTPServer) -> None:
    """A flow on the HTTP adapters with a retried look-up (stamina logs its retries)."""
    server.expect_ordered_request("/v1/citizens/lookup").respond_with_data(status=503)
    server.expect_ordered_request("/v1/citizens/lookup").respond_with_json(RECORD)
    server.expect_request("/v1/messages").respond_with_json({"id": "m"}, status=202)
    base = server.url_for("").replace("localhost", "127.0.0.1")
    settings = HttpSettings(base_url=base, wait_initial=0.01, wait_max=0.02)
    engine, flow_id = _engine(HttpBhxhRegistry(settings), HttpSmsGateway(settings))
    assert engine.send(flow_id, form_for(CITIZEN)).ok


def _pseudonym(client: str) -> str:
    """The client as the log names it, computed as docs/operations.md tells an operator to."""
    secret = FakePorts().otp_secret
    return hmac.new(secret, b"client:" + client.encode(), "sha256").hexdigest()[:32]


def test_one_audit_line_per_transition_with_who_what_when(siem_lines: io.StringIO) -> None:
    flow, happy = next(
        (flow, p)
        for flow, p in PATHS
        if p.end == "completed" and {s.outcome for s in p.steps} == {"otherwise"}
    )
    _play(flow, happy, FaultPlan(), None)
    audit = [e for e in _events(siem_lines) if e["event"] == "flow.transition"]
    assert [e["trigger"] for e in audit] == [
        "choose_method",
        "submit_form",
        "confirm_otp",
        "set_password",
    ]
    assert [e["dest"] for e in audit][-1] == "completed"
    for event in audit:
        assert {"flow_id", "client", "citizen", "at", "source", "dest", "rule", "errors"} <= set(
            event
        )
        assert event["client"] == _pseudonym(ScenarioRunner().client)
        assert event["level"] == "info"
    assert audit[0]["citizen"] is None  # nobody known before BHXH matched
    assert ScenarioRunner().client not in siem_lines.getvalue()
    assert {e["citizen"] for e in audit[1:]} == {mask_id(CITIZEN.id_number)}
