from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import structlog

from regflow import AsyncEngine, ChooseMethod, ConfirmOtp, Engine, FlowView, State
from regflow.engine import _engine
from regflow.testing import BlockingEngine, FakePorts, form_for
from regflow.tools import _fakes
from regflow.tools._tap import _Tap

if TYPE_CHECKING:
    from collections.abc import Iterator

STRONG_PASSWORD = "Mật-khẩu-1A"  # lower, upper, digit, special, 11 characters


def fresh_engine_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the engine a new lazy logger proxy, which binds the configuration in force
    when it first logs (until `monkeypatch` puts the module's own back). Under the regflow
    pytest plugin's tap (transition coverage), the tap keeps listening and logs through it."""
    fresh = structlog.get_logger("regflow")
    current = _engine._log
    if isinstance(current, _Tap):
        monkeypatch.setattr(current, "logger", fresh)
    else:
        monkeypatch.setattr(_engine, "_log", fresh)
    monkeypatch.setattr(_engine, "_CONFIGURED_LOG", fresh)


@pytest.fixture(autouse=True)
def _structlog_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI configures structlog for the process; give every test the defaults back,
    and the engine a logger proxy of its own: one configured with
    `cache_logger_on_first_use` (`regflow.production_logging`) stays bound for good."""
    fresh_engine_logger(monkeypatch)
    yield
    structlog.reset_defaults()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine-driver",
        choices=("sync", "async"),
        default="sync",
        help="run the engines the fakes build (FakePorts.engine, FaultPlan.engine) as "
        "AsyncEngine on async fakes, behind a blocking facade: the behaviour tests, async",
    )


def blocking_async_engine(*specs: Any, **wiring: Any) -> BlockingEngine:
    """What `Engine(*specs, **wiring)` is under ``--engine-driver=async``."""
    return BlockingEngine(AsyncEngine(*specs, **_fakes.async_wiring(wiring)))


@pytest.fixture(autouse=True)
def _engine_driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.config.getoption("--engine-driver") == "async":
        monkeypatch.setattr(_fakes, "Engine", blocking_async_engine)


@pytest.fixture
def ports() -> FakePorts:
    return FakePorts.seeded()


@pytest.fixture
def engine(ports: FakePorts) -> Engine:
    return ports.engine()


def at_form(engine: Engine) -> FlowView:
    view = engine.send(engine.start("bhxh_registration").flow_id, ChooseMethod("citizen", "bhxh"))
    assert view.state is State.FILLING_FORM
    return view


def at_otp(engine: Engine) -> FlowView:
    view = engine.send(at_form(engine).flow_id, form_for())
    assert view.state is State.OTP_PENDING, view.errors
    return view


def at_password(engine: Engine, ports: FakePorts) -> FlowView:
    flow_id = at_otp(engine).flow_id
    view = engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    assert view.state is State.SETTING_PASSWORD, view.errors
    return view
