"""Metrics and traces through OpenTelemetry: ``pip install 'regflow[otel]'``.

`OpenTelemetryInstrumentation` is the engine's `regflow.ports.Instrumentation` on the
OpenTelemetry API: a span per request (``regflow.send`` and so on) with the flow, trigger,
source, destination and rule of its transition, a child span per port call, and these
instruments (Prometheus names in brackets, through `opentelemetry-exporter-prometheus`):

- ``regflow.transitions`` [``regflow_transitions_total``]: by flow, version, trigger,
  source, destination and rule;
- ``regflow.errors`` [``regflow_errors_total``]: the codes requests answered, by code;
- ``regflow.port.duration`` [``regflow_port_duration_seconds``]: a histogram by port and
  operation; ``regflow.port.failures`` [``regflow_port_failures_total``]: the calls that failed;
- ``regflow.flows.started`` and ``regflow.flows.finished`` (by outcome, the final state).

Every attribute is a name from a declaration, an error code, a port's name or a flow id:
no phone, ID number, OTP or password, and an exception is named by its type only (its
message could carry a number). The host owns the providers: pass its tracer and meter
providers, or leave them out for the global ones.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from opentelemetry import metrics, trace
from opentelemetry.trace import Status, StatusCode

from regflow._errors import DuplicateAccountError, StaleFlowError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from opentelemetry.util.types import Attributes

    from regflow.ports.instrumentation import Operation, Transition

__all__ = ["OpenTelemetryInstrumentation"]

#: The instrumentation scope's name, as the spans and metrics carry it.
SCOPE: Final = "regflow"
#: What a lost race on a store is: the engine retries it, so it is no failure of the port.
_RACES: Final = (StaleFlowError, DuplicateAccountError)
#: Port call latencies from a millisecond to a BHXH call past its timeout, in seconds.
_LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class OpenTelemetryInstrumentation:
    """Spans and metrics of one engine or more.

    ``Engine(…, instrumentation=OpenTelemetryInstrumentation())`` (or `regflow.bootstrap`).
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self._transitions = meter.create_counter(
            "regflow.transitions", unit="{transition}", description="Transitions taken"
        )
        self._errors = meter.create_counter(
            "regflow.errors", unit="{error}", description="Error codes answered"
        )
        self._duration = meter.create_histogram(
            "regflow.port.duration",
            unit="s",
            description="Port call latency",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )
        self._failures = meter.create_counter(
            "regflow.port.failures", unit="{call}", description="Port calls that failed"
        )
        self._started = meter.create_counter(
            "regflow.flows.started", unit="{flow}", description="Flows begun"
        )
        self._finished = meter.create_counter(
            "regflow.flows.finished", unit="{flow}", description="Flows ended, by outcome"
        )

    @contextmanager
    def request(self, operation: Operation, trigger: str) -> Iterator[None]:
        with self._tracer.start_as_current_span(
            f"regflow.{operation}",
            attributes={"regflow.trigger": trigger},
            record_exception=False,
            set_status_on_exception=False,
        ):
            yield

    @contextmanager
    def port_call(self, port: str, operation: str) -> Iterator[None]:
        attributes: Attributes = {"regflow.port": port, "regflow.operation": operation}
        started = time.perf_counter()
        with self._tracer.start_as_current_span(
            f"regflow.port.{port}",
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield
            except _RACES:
                span.add_event("regflow.conflict")
                raise
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                span.set_attribute("error.type", type(exc).__name__)
                self._failures.add(1, attributes)
                raise
            finally:
                self._duration.record(time.perf_counter() - started, attributes)

    def started(self, flow: str, flow_version: int) -> None:
        self._started.add(1, {"regflow.flow": flow, "regflow.flow_version": flow_version})
        trace.get_current_span().set_attribute("regflow.flow", flow)

    def transition(self, transition: Transition) -> None:
        attributes: dict[str, str | int] = {
            "regflow.flow": transition.flow,
            "regflow.flow_version": transition.flow_version,
            "regflow.trigger": transition.trigger,
            "regflow.source": transition.source,
            "regflow.dest": transition.dest,
        }
        if transition.rule is not None:
            attributes["regflow.rule"] = transition.rule
        self._transitions.add(1, attributes)
        span = trace.get_current_span()
        span.set_attributes(attributes)
        span.set_attribute("regflow.flow_id", transition.flow_id)
        if transition.finished:
            outcome: dict[str, str | int] = {
                "regflow.flow": transition.flow,
                "regflow.flow_version": transition.flow_version,
                "regflow.outcome": transition.dest,
            }
            self._finished.add(1, outcome)

    def answered(self, errors: tuple[str, ...]) -> None:
        span = trace.get_current_span()
        span.set_attribute("regflow.errors", errors)
        for code in errors:
            self._errors.add(1, {"regflow.error": code})
        unavailable = [code for code in errors if code.endswith(".unavailable")]
        if unavailable:
            span.set_status(Status(StatusCode.ERROR, unavailable[0]))
