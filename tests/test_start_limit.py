"""Flows begun per client: nobody fills the flow store by pressing "Đăng ký" without end."""

from __future__ import annotations

from datetime import timedelta

from structlog.testing import capture_logs

from regflow import Policy, RateLimit, RateLimits
from regflow.testing import FakePorts

HOUR = timedelta(hours=1)


def test_a_client_past_its_starts_is_refused_until_the_window_frees() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(
        policy=Policy(rate_limits=RateLimits(starts_per_client=(RateLimit(3, HOUR),))),
        limiter=ports.limiter,
    )
    begun = [engine.start("bhxh_registration", client="203.0.113.7") for _ in range(3)]

    refused = engine.start("bhxh_registration", client="203.0.113.7")

    assert all(view.ok and view.flow_id for view in begun)
    assert (refused.state, refused.flow_id, refused.error_codes()) == (
        None,
        "",
        ("client.start_rate_limited",),
    )
    assert refused.errors[0].retry_at == ports.clock.now() + HOUR
    assert len(ports.flows.flows) == 3  # the refused start saved nothing
    assert engine.start(
        "bhxh_registration", client="198.51.100.9"
    ).ok  # another client is not held back
    ports.clock.advance(hours=1)
    assert engine.start("bhxh_registration", client="203.0.113.7").ok


def test_starts_without_a_client_or_a_limiter_are_not_limited() -> None:
    ports = FakePorts.seeded()
    limited = ports.engine(
        policy=Policy(rate_limits=RateLimits(starts_per_client=(RateLimit(1, HOUR),))),
        limiter=ports.limiter,
    )
    unlimited = ports.engine()

    assert all(limited.start("bhxh_registration").ok for _ in range(3))
    assert all(unlimited.start("bhxh_registration", client="203.0.113.7").ok for _ in range(3))


def test_a_failing_limiter_refuses_the_start_as_a_storage_outage() -> None:
    class DownLimiter:
        def hit(self, key: str, limits: object) -> None:
            raise ConnectionError(key, limits)

        peek = hit

    ports = FakePorts.seeded()
    engine = ports.engine(limiter=DownLimiter())

    with capture_logs() as logs:
        view = engine.start("bhxh_registration", client="203.0.113.7")

    assert (view.state, view.error_codes(), view.retryable) == (
        None,
        ("storage.unavailable",),
        True,
    )
    assert [log["event"] for log in logs] == ["flow.port_failed"]
    assert not ports.flows.flows


def test_a_refused_start_logs_the_client_by_its_digest_never_as_typed() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(
        policy=Policy(rate_limits=RateLimits(starts_per_client=(RateLimit(1, HOUR),))),
        limiter=ports.limiter,
    )
    odd_client = "\ud800 203.0.113.7 \x00"
    engine.start("bhxh_registration", client=odd_client)

    with capture_logs() as logs:
        refused = engine.start("bhxh_registration", client=odd_client)

    assert refused.error_codes() == ("client.start_rate_limited",)
    (line,) = [log for log in logs if log["event"] == "flow.start_refused"]
    assert "203.0.113.7" not in repr(line)
    assert len(line["client"]) == 32
