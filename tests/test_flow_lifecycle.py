"""The flow as a whole: expiry, unknown ids, events out of place, storage failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from regflow import (
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowSnapshot,
    Policy,
    ResendOtp,
    SetPassword,
    StaleFlowError,
    State,
)
from regflow.testing import FakePorts, form_for

from .conftest import STRONG_PASSWORD, at_form, at_otp, at_password


def test_the_whole_flow_expires_after_thirty_minutes(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_form(engine).flow_id
    ports.clock.advance(minutes=30)

    view = engine.send(flow_id, form_for())

    assert view.state is State.EXPIRED
    assert view.error_codes() == ("flow.expired",)
    assert ports.sms.sent == []
    assert engine.send(flow_id, form_for()).error_codes() == ("flow.expired",)


def test_the_flow_lifetime_is_configurable(ports: FakePorts) -> None:
    engine = ports.engine(policy=Policy(flow_ttl=timedelta(minutes=10)))
    flow_id = at_form(engine).flow_id
    ports.clock.advance(minutes=9, seconds=59)
    assert engine.send(flow_id, form_for(phone="")).state is State.FILLING_FORM

    ports.clock.advance(seconds=1)

    assert engine.send(flow_id, form_for()).state is State.EXPIRED


def test_flow_times_are_whole_seconds(ports: FakePorts) -> None:
    ports.clock.set(datetime(2026, 1, 1, 8, 0, 59, 999_999, tzinfo=UTC))
    engine = ports.engine()
    flow_id = at_form(engine).flow_id
    otp_step = engine.send(flow_id, form_for())

    snapshot = ports.flows.load(flow_id)
    assert snapshot is not None
    assert snapshot.created_at == datetime(2026, 1, 1, 8, 0, 59, tzinfo=UTC)
    assert snapshot.updated_at == snapshot.created_at
    assert otp_step.otp_expires_at == snapshot.created_at + timedelta(minutes=5)


def test_expiry_wins_over_every_step(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_password(engine, ports).flow_id
    ports.clock.advance(hours=1)

    view = engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert view.state is State.EXPIRED
    assert ports.users.accounts == {}


def test_an_unknown_flow_is_reported(engine: Engine) -> None:
    view = engine.send("no-such-flow", ChooseMethod("citizen", "bhxh"))

    assert view.state is None
    assert view.error_codes() == ("flow.not_found",)


@pytest.mark.parametrize(
    "event",
    [ConfirmOtp("123456"), ResendOtp(), SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)],
)
def test_an_event_out_of_place_is_refused(engine: Engine, event: object) -> None:
    flow_id = at_form(engine).flow_id

    view = engine.send(flow_id, event)

    assert view.state is State.FILLING_FORM
    assert view.error_codes() == ("event.not_allowed",)


def test_something_that_is_not_an_event_is_refused(engine: Engine) -> None:
    flow_id = engine.start("bhxh_registration").flow_id

    view = engine.send(flow_id, {"subject": "citizen"})

    assert view.state is State.CHOOSING_METHOD
    assert view.error_codes() == ("event.invalid",)


class BrokenFlowStore:
    def __init__(self, ports: FakePorts, *, load: bool = False, save: bool = False) -> None:
        self.flows, self.fail_load, self.fail_save = ports.flows, load, save

    def load(self, flow_id: str) -> FlowSnapshot | None:
        if self.fail_load:
            raise OSError("disk gone")
        return self.flows.load(flow_id)

    def save(self, snapshot: FlowSnapshot) -> None:
        if self.fail_save:
            raise OSError("disk full")
        self.flows.save(snapshot)

    def purge_expired(self, now: object) -> int:
        raise NotImplementedError


def test_storage_down_on_load_is_retryable(ports: FakePorts) -> None:
    flow_id = at_form(ports.engine()).flow_id
    ports.flows = BrokenFlowStore(ports, load=True)  # type: ignore[assignment]

    view = ports.engine().send(flow_id, form_for())

    assert view.state is None
    assert view.error_codes() == ("storage.unavailable",)
    assert view.retryable


def test_storage_down_on_save_keeps_the_last_saved_step(ports: FakePorts) -> None:
    flow_id = at_form(ports.engine()).flow_id
    healthy = ports.flows
    ports.flows = BrokenFlowStore(ports, save=True)  # type: ignore[assignment]

    view = ports.engine().send(flow_id, form_for())

    assert view.state is State.FILLING_FORM
    assert view.error_codes() == ("storage.unavailable",)
    assert healthy.load(flow_id).state is State.FILLING_FORM  # type: ignore[union-attr]


def test_storage_down_at_start_is_retryable(ports: FakePorts) -> None:
    ports.flows = BrokenFlowStore(ports, save=True)  # type: ignore[assignment]

    view = ports.engine().start("bhxh_registration")

    assert view.state is None
    assert view.error_codes() == ("storage.unavailable",)


def test_a_save_lost_after_the_account_was_created_heals_on_retry(ports: FakePorts) -> None:
    flow_id = at_password(ports.engine(), ports).flow_id
    healthy = ports.flows
    ports.flows = BrokenFlowStore(ports, save=True)  # type: ignore[assignment]
    failed = ports.engine().send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))
    ports.flows = healthy

    retried = ports.engine().send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert failed.state is State.SETTING_PASSWORD
    assert failed.error_codes() == ("storage.unavailable",)
    assert retried.state is State.COMPLETED
    assert retried.account is not None
    assert list(ports.users.accounts) == [retried.account.account_id]


def test_a_stale_save_is_reapplied_on_the_fresh_snapshot(ports: FakePorts) -> None:
    """Two app servers confirm one flow at once: the code counts once, nothing is lost."""
    engine = ports.engine()
    flow_id = at_otp(engine).flow_id
    code = ports.sms.last_code()
    healthy = ports.flows
    stale = healthy.load(flow_id)
    first = engine.send(flow_id, ConfirmOtp(code))

    class StaleOnce:
        def __init__(self) -> None:
            self.loads = 0

        def load(self, flow_id: str) -> FlowSnapshot | None:
            self.loads += 1
            return stale if self.loads == 1 else healthy.load(flow_id)

        def save(self, snapshot: FlowSnapshot) -> None:
            healthy.save(snapshot)

        def purge_expired(self, now: object) -> int:
            return healthy.purge_expired(now)  # type: ignore[arg-type]

    ports.flows = StaleOnce()  # type: ignore[assignment]
    second = ports.engine().send(flow_id, ConfirmOtp(code))

    assert first.state is State.SETTING_PASSWORD
    assert second.state is State.SETTING_PASSWORD
    assert second.error_codes() == ("event.not_allowed",)


def test_the_engine_wants_a_real_secret(ports: FakePorts) -> None:
    ports.otp_secret = b"short"

    with pytest.raises(ValueError, match="otp_secret"):
        ports.engine()


class AlwaysStale:
    """Every save loses to another app server; loads may fail too."""

    def __init__(self, ports: FakePorts, *, load_fails_after: int | None = None) -> None:
        self.flows, self.loads, self.load_fails_after = ports.flows, 0, load_fails_after

    def load(self, flow_id: str) -> FlowSnapshot | None:
        self.loads += 1
        if self.load_fails_after is not None and self.loads > self.load_fails_after:
            raise OSError("disk gone")
        return self.flows.load(flow_id)

    def save(self, snapshot: FlowSnapshot) -> None:
        raise StaleFlowError(snapshot.flow_id)

    def purge_expired(self, now: datetime) -> int:
        return self.flows.purge_expired(now)


def test_a_flow_that_keeps_changing_under_the_request_reports_a_conflict(
    ports: FakePorts,
) -> None:
    flow_id = at_form(ports.engine()).flow_id
    ports.flows = AlwaysStale(ports)  # type: ignore[assignment]

    view = ports.engine().send(flow_id, form_for())

    assert view.state is State.FILLING_FORM
    assert view.error_codes() == ("flow.conflict",)
    assert view.retryable


def test_a_conflict_then_a_storage_failure_reports_the_storage_failure(
    ports: FakePorts,
) -> None:
    flow_id = at_form(ports.engine()).flow_id
    ports.flows = AlwaysStale(ports, load_fails_after=Engine.MAX_ATTEMPTS)  # type: ignore[assignment]

    view = ports.engine().send(flow_id, form_for())

    assert view.error_codes() == ("storage.unavailable",)


@pytest.mark.parametrize(
    ("sent_at", "state"),
    [
        (datetime(2026, 1, 1, 8, 29, 59, 999_999, tzinfo=UTC), State.OTP_PENDING),
        (datetime(2026, 1, 1, 8, 30, tzinfo=UTC), State.EXPIRED),
    ],
)
def test_a_flow_ends_at_the_whole_second_of_expires_at(
    ports: FakePorts, sent_at: datetime, state: State
) -> None:
    ports.clock.set(datetime(2026, 1, 1, 8, 0, 0, 999_999, tzinfo=UTC))  # the fraction is dropped
    engine = ports.engine()
    started = at_form(engine)
    assert started.expires_at == datetime(2026, 1, 1, 8, 30, tzinfo=UTC)
    ports.clock.set(sent_at)

    assert engine.send(started.flow_id, form_for()).state is state
