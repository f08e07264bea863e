"""Limits across flows: the limiter contract, and the engine under SMS pumping and guessing."""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from regflow import (
    CITIZEN_BY_BHXH,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowView,
    Policy,
    RateLimit,
    RateLimits,
    ResendOtp,
    State,
    bootstrap,
)
from regflow.adapters.limits import AsyncLimitsRateLimiter, LimitsRateLimiter
from regflow.testing import (
    CITIZEN,
    BlockingPort,
    FakeClock,
    FakePorts,
    FastHasher,
    InMemoryBhxhRegistry,
    InMemoryRateLimiter,
    SmsInbox,
    form_for,
    run_blocking,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from regflow.ports import RateLimiter

HOUR = timedelta(hours=1)
PUMPING_REQUESTS = 1_000
GUESSES = 1_000


def _redis_url() -> str:
    url = os.environ.get("REGFLOW_REDIS_URL")
    if not url:
        pytest.skip("no redis-server (scripts/redis.sh starts one)")
    return url


@pytest.fixture(
    params=["memory", "limits-memory", "limits-redis", "limits-async-memory", "limits-async-redis"]
)
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    if request.param.startswith("limits-async-"):  # behind its sync protocol, as the contract is
        uri = "async+memory://"
        if request.param.endswith("redis"):
            uri = _redis_url().replace("redis://", "async+redis://", 1)
        async_limiter = AsyncLimitsRateLimiter(uri)
        yield BlockingPort(async_limiter)
        run_blocking(async_limiter.aclose())
    elif request.param == "memory":
        yield InMemoryRateLimiter(FakeClock(datetime.now(UTC)))
    elif request.param == "limits-memory":
        yield LimitsRateLimiter("memory://")
    else:
        yield LimitsRateLimiter(_redis_url())


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"  # fresh per test: Redis outlives the test run


# --- the RateLimiter contract, over every adapter ---------------------------------------


def test_a_limit_allows_its_amount_then_says_when_to_retry(limiter: RateLimiter) -> None:
    key, limits = _key(), [RateLimit(3, HOUR)]
    assert [limiter.hit(key, limits) for _ in range(3)] == [None, None, None]
    before = datetime.now(UTC)
    retry_at = limiter.hit(key, limits)
    assert retry_at is not None
    assert before - timedelta(seconds=5) < retry_at <= before + HOUR + timedelta(seconds=5)


def test_peek_counts_nothing(limiter: RateLimiter) -> None:
    key, limits = _key(), [RateLimit(1, HOUR)]
    assert limiter.peek(key, limits) is None
    assert limiter.peek(key, limits) is None
    assert limiter.hit(key, limits) is None
    assert limiter.peek(key, limits) is not None


def test_keys_are_counted_apart(limiter: RateLimiter) -> None:
    limits = [RateLimit(1, HOUR)]
    first, second = _key(), _key()
    assert limiter.hit(first, limits) is None
    assert limiter.hit(second, limits) is None
    assert limiter.hit(first, limits) is not None


def test_the_tightest_limit_decides_and_a_refused_hit_counts_nowhere(limiter: RateLimiter) -> None:
    key = _key()
    tight, loose = RateLimit(2, HOUR), RateLimit(3, timedelta(days=1))
    assert limiter.hit(key, [tight, loose]) is None
    assert limiter.hit(key, [tight, loose]) is None
    assert limiter.hit(key, [tight, loose]) is not None  # refused: counts under neither
    assert limiter.hit(key, [loose]) is None  # so `loose` still has its third


def test_the_memory_limiter_slides_its_window() -> None:
    clock = FakeClock()
    limiter, limits = InMemoryRateLimiter(clock), [RateLimit(2, HOUR)]
    limiter.hit("k", limits)
    clock.advance(minutes=30)
    limiter.hit("k", limits)
    assert limiter.hit("k", limits) == clock.now() + timedelta(minutes=30)
    clock.advance(minutes=30)
    assert limiter.hit("k", limits) is None  # the first hit left the window
    assert limiter.hit("k", limits) is not None


def test_the_memory_limiter_forgets_keys_whose_windows_have_passed() -> None:
    clock = FakeClock()
    limiter, limits = InMemoryRateLimiter(clock), [RateLimit(5, HOUR), RateLimit(9, 24 * HOUR)]
    for phone in range(InMemoryRateLimiter.SWEEP_EVERY):
        limiter.hit(f"phone:{phone}", limits)
    assert len(limiter) == 2 * InMemoryRateLimiter.SWEEP_EVERY
    clock.advance(hours=2)
    for _ in range(InMemoryRateLimiter.SWEEP_EVERY):
        limiter.hit("busy", limits)
    assert len(limiter) == InMemoryRateLimiter.SWEEP_EVERY + 2  # the phones' day windows
    clock.advance(hours=24)

    for _ in range(InMemoryRateLimiter.SWEEP_EVERY):
        limiter.hit("busy", limits)

    assert len(limiter) == 2  # only the key still in use, in its two windows


# --- the engine with limits across flows ----------------------------------------------


class RecordingLimiter(InMemoryRateLimiter):
    """Remembers every key it was asked about, to check what the limiter's store sees."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.keys: list[str] = []

    def hit(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        self.keys.append(key)
        return super().hit(key, limits)


def _engine(ports: FakePorts, **limits: tuple[RateLimit, ...]) -> Engine:
    policy = Policy(rate_limits=RateLimits(**limits))
    return ports.engine(policy=policy, limiter=InMemoryRateLimiter(ports.clock))


def _submit(engine: Engine, client: str | None = None, **changes: str | None) -> FlowView:
    flow = engine.start("bhxh_registration")
    engine.send(flow.flow_id, ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method))
    return engine.send(flow.flow_id, form_for(CITIZEN, **changes), client=client)


def test_sms_pumping_one_phone_gets_no_more_than_the_daily_limit() -> None:
    """1,000 send requests (new flows and resends), one a minute: the phone gets ≤ 10 texts."""
    ports = FakePorts.seeded()
    engine = _engine(ports)  # the default limits: 5 an hour, 10 a day per phone
    flow_id: str | None = None
    refused: Counter[str] = Counter()
    for _ in range(PUMPING_REQUESTS):
        ports.clock.advance(seconds=61)
        view = engine.send(flow_id, ResendOtp()) if flow_id else _submit(engine)
        refused.update(view.error_codes())
        flow_id = view.flow_id if "resend_otp" in view.allowed_events else None
    assert len(ports.sms.sent) == 10
    assert "otp.send_rate_limited" in refused


def test_without_limits_across_flows_pumping_is_bounded_only_per_flow() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine()
    for _ in range(20):
        _submit(engine)
    assert len(ports.sms.sent) == 20  # why the limits across flows exist


def test_a_refused_send_says_when_to_retry_and_leaves_the_form_to_submit_again() -> None:
    ports = FakePorts.seeded()
    ten_minutes = timedelta(minutes=10)
    engine = _engine(ports, otp_sends_per_phone=(RateLimit(1, ten_minutes),))
    _submit(engine)
    view = _submit(engine)
    assert view.error_codes() == ("otp.send_rate_limited",)
    assert view.state is State.FILLING_FORM
    assert view.errors[0].retry_at == ports.clock.now() + ten_minutes
    assert view.errors[0].message.vi
    ports.clock.advance(ten_minutes)
    assert engine.send(view.flow_id, form_for()).state is State.OTP_PENDING


def test_a_resend_counts_against_the_phone_too() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, otp_sends_per_phone=(RateLimit(1, HOUR),))
    flow = _submit(engine)
    ports.clock.advance(minutes=2)
    assert engine.send(flow.flow_id, ResendOtp()).error_codes() == ("otp.send_rate_limited",)
    assert len(ports.sms.sent) == 1


def test_otp_guessing_locks_the_flow_after_five_and_never_succeeds() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports)
    flow = _submit(engine)
    real = ports.sms.last_code()
    wrong = (f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" != real)
    guesses = [next(wrong) for _ in range(GUESSES - 1)] + [real]  # the right code comes last
    views = [engine.send(flow.flow_id, ConfirmOtp(code)) for code in guesses]
    judged = [v for v in views if v.error_codes() in {("otp.invalid",), ("otp.too_many_attempts",)}]
    assert len(judged) == 5
    assert views[4].state is State.LOCKED
    assert all(v.error_codes() == ("flow.locked",) for v in views[5:])
    assert not any(v.state is State.SETTING_PASSWORD for v in views)
    assert not ports.users.accounts


def test_matches_do_not_count_as_mismatches() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, mismatches_per_bhxh_number=(RateLimit(1, HOUR),))
    for _ in range(3):
        assert _submit(engine).state is State.OTP_PENDING


def test_forms_per_client_are_limited_and_other_clients_go_on() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, attempts_per_client=(RateLimit(2, HOUR),))
    for _ in range(2):
        _submit(engine, client="203.0.113.7")
    refused = _submit(engine, client="203.0.113.7")
    assert refused.error_codes() == ("client.rate_limited",)
    assert _submit(engine, client="198.51.100.1").state is State.OTP_PENDING
    assert _submit(engine).state is State.OTP_PENDING  # no client key: no client limit


def test_invalid_forms_count_against_nothing() -> None:
    ports = FakePorts.seeded()
    engine = _engine(ports, attempts_per_client=(RateLimit(1, HOUR),))
    for _ in range(3):
        assert _submit(engine, client="c", phone="123").error_codes() == ("phone.invalid",)
    assert _submit(engine, client="c").state is State.OTP_PENDING


def test_a_failing_limiter_refuses_with_the_retryable_storage_error() -> None:
    class DownLimiter(InMemoryRateLimiter):
        def hit(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
            raise ConnectionError(f"redis down: {key} {limits}")

    ports = FakePorts.seeded()
    engine = ports.engine(limiter=DownLimiter())
    view = _submit(engine)
    assert view.error_codes() == ("storage.unavailable",)
    assert view.retryable
    assert view.state is State.FILLING_FORM
    assert not ports.sms.sent


def test_the_limiter_never_sees_a_phone_id_or_bhxh_number() -> None:
    ports = FakePorts.seeded()
    limiter = RecordingLimiter(ports.clock)
    engine = ports.engine(limiter=limiter)
    _submit(engine, client="203.0.113.7")
    assert len(limiter.keys) == 3  # client, BHXH number, phone
    numbers = ("912345678", CITIZEN.bhxh_number, CITIZEN.id_number, "203.0.113.7")
    assert not any(number in key for key in limiter.keys for number in numbers)


def test_bootstrap_limits_across_flows_by_default(tmp_path: Path) -> None:
    sms = SmsInbox()
    clock = FakeClock()
    engine = bootstrap(
        bhxh=InMemoryBhxhRegistry([CITIZEN]),
        sms=sms,
        otp_secret=b"x" * 32,
        hasher=FastHasher(),
        clock=clock,
        database=tmp_path / "regflow.sqlite3",  # not the default file in the working directory
    )
    for _ in range(8):
        _submit(engine)
    assert len(sms.sent) == 5  # the default: 5 an hour per phone


def test_racing_hits_never_pass_a_limit_together(limiter: RateLimiter) -> None:
    key, limits = _key(), [RateLimit(5, HOUR), RateLimit(50, timedelta(days=1))]
    start = threading.Barrier(20)
    answers: list[datetime | None] = []

    def hit() -> None:
        start.wait()
        answers.append(limiter.hit(key, limits))

    workers = [threading.Thread(target=hit) for _ in range(20)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert answers.count(None) == 5
