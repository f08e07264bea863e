"""Traces and metrics through OpenTelemetry (`regflow.adapters.otel`), read back from the
SDK's in-memory exporter and reader: the attributes operators query, and no personal data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from regflow import (
    BHXH_REGISTRATION,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowSnapshot,
    SetPassword,
    StaleFlowError,
)
from regflow.adapters.otel import OpenTelemetryInstrumentation
from regflow.testing import CITIZEN, STRONG_PASSWORD, FakePorts, Fault, form_for

from .test_faults import PATHS, campaign
from .test_rate_limits import test_otp_guessing_locks_the_flow_after_five_and_never_succeeds
from .test_secrets import _leaks, codes_sent  # noqa: F401 - the fixture, shared

if TYPE_CHECKING:
    from collections.abc import Iterator

    from opentelemetry.sdk.trace import ReadableSpan


class Telemetry:
    """An instrumentation on SDK providers whose spans and metrics a test reads."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.instrumentation = OpenTelemetryInstrumentation(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
        )

    def finished(self) -> tuple[ReadableSpan, ...]:
        return self.spans.get_finished_spans()

    def points(self, name: str) -> list[Any]:
        """The data points of the metric `name`."""
        data = self.reader.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def counts(self, name: str, *keys: str) -> dict[tuple[object, ...], int]:
        """A counter's values by the attributes `keys`."""
        return {
            tuple(point.attributes.get(key) for key in keys): point.value
            for point in self.points(name)
        }


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


def _registered(telemetry: Telemetry) -> FakePorts:
    ports = FakePorts.seeded()
    engine = ports.engine(BHXH_REGISTRATION, instrumentation=telemetry.instrumentation)
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for(CITIZEN))
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    assert engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)).state == "completed"
    return ports


def test_a_span_per_request_names_its_transition_with_a_child_per_port_call(
    telemetry: Telemetry,
) -> None:
    _registered(telemetry)

    spans = telemetry.finished()
    requests = [span for span in spans if span.parent is None]
    assert [span.name for span in requests] == ["regflow.start"] + ["regflow.send"] * 4
    form = next(
        s for s in requests if s.attributes and s.attributes["regflow.trigger"] == "submit_form"
    )
    assert form.attributes is not None
    assert form.attributes["regflow.flow"] == "bhxh_registration"
    assert form.attributes["regflow.flow_version"] == BHXH_REGISTRATION.version
    assert (form.attributes["regflow.source"], form.attributes["regflow.dest"]) == (
        "filling_form",
        "otp_pending",
    )
    assert form.attributes["regflow.errors"] == ()
    children = [
        s for s in spans if s.parent is not None and s.parent.span_id == form.context.span_id
    ]
    ports = {(s.attributes or {}).get("regflow.port") for s in children}
    assert {"bhxh", "sms", "storage"} <= ports
    assert all(s.context.trace_id == form.context.trace_id for s in children)
    started = requests[0].attributes
    assert started is not None
    assert (started["regflow.trigger"], started["regflow.flow"]) == ("start", "bhxh_registration")
    last = requests[-1].attributes
    assert last is not None
    assert last["regflow.dest"] == "completed"
    assert "hasher" in {
        (s.attributes or {}).get("regflow.port")
        for s in spans
        if s.parent is not None and s.parent.span_id == requests[-1].context.span_id
    }


def test_a_view_is_a_request_with_its_load(telemetry: Telemetry) -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(BHXH_REGISTRATION, instrumentation=telemetry.instrumentation)
    flow_id = engine.start("bhxh_registration").flow_id
    telemetry.spans.clear()

    assert engine.view(flow_id).state == "choosing_method"

    load, view = telemetry.finished()
    assert (view.name, (view.attributes or {})["regflow.errors"]) == ("regflow.view", ())
    assert load.parent is not None
    assert load.parent.span_id == view.context.span_id
    assert (load.attributes or {})["regflow.operation"] == "load"


def test_regflow_runs_without_opentelemetry_imported() -> None:
    """The core never imports it: an engine without instrumentation needs no `otel` extra."""
    script = (
        "import sys, regflow\n"
        "from regflow.testing import FakePorts\n"
        "engine = FakePorts.seeded().engine()\n"
        "engine.view(engine.start('bhxh_registration').flow_id)\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, capture_output=True)  # noqa: S603 - our own script


def test_a_rule_that_decides_is_on_the_span_and_the_transition_count(
    telemetry: Telemetry,
) -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(BHXH_REGISTRATION, instrumentation=telemetry.instrumentation)
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for(CITIZEN, full_name="Trần Văn Khác"))

    mismatch = telemetry.finished()[-1].attributes
    assert mismatch is not None
    assert (mismatch["regflow.dest"], mismatch["regflow.rule"]) == (
        "data_mismatch",
        "data_mismatch",
    )
    counts = telemetry.counts(
        "regflow.transitions", "regflow.source", "regflow.dest", "regflow.rule"
    )
    assert counts[("filling_form", "data_mismatch", "data_mismatch")] == 1
    assert counts[("choosing_method", "filling_form", None)] == 1
    errors = telemetry.counts("regflow.errors", "regflow.error")
    assert errors == {("bhxh.data_mismatch",): 1}


def test_metrics_count_flows_by_outcome_and_time_every_port(telemetry: Telemetry) -> None:
    _registered(telemetry)
    _registered(telemetry)

    assert telemetry.counts("regflow.flows.started", "regflow.flow") == {("bhxh_registration",): 2}
    assert telemetry.counts("regflow.flows.finished", "regflow.outcome") == {("completed",): 2}
    latencies = {
        (point.attributes["regflow.port"], point.attributes["regflow.operation"]): point.count
        for point in telemetry.points("regflow.port.duration")
    }
    assert latencies[("storage", "save")] >= 8
    assert latencies[("storage", "load")] == 8
    assert {port for port, _ in latencies} == {"bhxh", "sms", "storage", "hasher", "hook"}
    assert latencies[("hook", "hook")] == 2  # the fakes' veto, asked before each account
    assert telemetry.points("regflow.port.failures") == []


def test_a_failing_port_is_a_failed_child_span_and_counted(telemetry: Telemetry) -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(BHXH_REGISTRATION, instrumentation=telemetry.instrumentation)
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    ports.sms.fail_next()

    assert engine.send(flow_id, form_for(CITIZEN)).error_codes() == ("sms.unavailable",)

    failed = [s for s in telemetry.finished() if s.status.status_code is StatusCode.ERROR]
    assert [s.name for s in failed] == ["regflow.port.sms", "regflow.send"]
    assert failed[0].status.description == "ConnectionError"
    assert failed[0].events == ()  # no exception event: its message could carry a number
    assert telemetry.counts("regflow.port.failures", "regflow.port") == {("sms",): 1}
    assert telemetry.counts("regflow.errors", "regflow.error") == {("sms.unavailable",): 1}


def test_a_lost_race_on_the_store_is_no_port_failure(telemetry: Telemetry) -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(BHXH_REGISTRATION, instrumentation=telemetry.instrumentation)
    flow_id = engine.start("bhxh_registration").flow_id
    save = ports.flows.save
    races = [StaleFlowError("another request saved first")]

    def save_after_a_race(snapshot: FlowSnapshot) -> None:
        if races:
            raise races.pop()
        save(snapshot)

    ports.flows.save = save_after_a_race  # type: ignore[method-assign]
    assert engine.send(flow_id, ChooseMethod("citizen", "bhxh")).state == "filling_form"

    spans = telemetry.finished()
    conflicts = [s for s in spans if any(e.name == "regflow.conflict" for e in s.events)]
    assert [(s.attributes or {}).get("regflow.operation") for s in conflicts] == ["save"]
    assert telemetry.points("regflow.port.failures") == []


@pytest.fixture
def instrumented(monkeypatch: pytest.MonkeyPatch, telemetry: Telemetry) -> Telemetry:
    """Every engine the tests build reports to `telemetry`."""
    built = Engine.__init__

    def init(self: Engine, *specs: Any, **ports: Any) -> None:
        if ports.get("instrumentation") is None:  # AsyncEngine passes None on
            ports["instrumentation"] = telemetry.instrumentation
        built(self, *specs, **ports)

    monkeypatch.setattr(Engine, "__init__", init)
    return telemetry


def _attributes(telemetry: Telemetry) -> Iterator[str]:
    """Every attribute, event and status text of every span and data point, as JSON."""
    for span in telemetry.finished():
        yield json.dumps(dict(span.attributes or {}), ensure_ascii=False)
        yield json.dumps([(e.name, dict(e.attributes or {})) for e in span.events])
        yield span.name + " " + str(span.status.description)
    data = telemetry.reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    yield json.dumps(dict(point.attributes or {}), ensure_ascii=False)


def test_no_span_or_metric_holds_personal_data(
    instrumented: Telemetry,
    codes_sent: set[str],  # noqa: F811 - the fixture
) -> None:
    """The log test's campaign (every path, a lost answer at every port call, OTP
    guessing), its secrets checked the same way in every attribute."""
    for flow, path in PATHS:
        campaign(flow, path, Fault.TIMED_OUT)
    test_otp_guessing_locks_the_flow_after_five_and_never_succeeds()

    texts = list(_attributes(instrumented))
    assert len(codes_sent) > 100
    assert len(instrumented.finished()) > 1_000
    for text in texts:
        assert not _leaks(text, codes_sent), text
