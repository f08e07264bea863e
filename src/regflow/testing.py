"""Fakes for tests, regflow's own and host apps': the `httpx.MockTransport` of regflow.

Every fake keeps state a test can check::

    from regflow.testing import FakePorts

    ports = FakePorts.seeded()
    engine = ports.engine()
    flow = engine.start()
    ...
    code = ports.sms.last_code()
"""

from regflow._fakes import (
    CITIZEN,
    FakeClock,
    FakePorts,
    FastHasher,
    Fault,
    FaultPlan,
    SentSms,
    SmsInbox,
    form_for,
)
from regflow._scenario import (
    RECIPES,
    STRONG_PASSWORD,
    Recipe,
    ScenarioError,
    ScenarioRunner,
    Scene,
)
from regflow.adapters.memory import (
    InMemoryBhxhRegistry,
    InMemoryFlowStore,
    InMemoryRateLimiter,
    InMemoryUserStore,
)

__all__ = [
    "CITIZEN",
    "RECIPES",
    "STRONG_PASSWORD",
    "FakeClock",
    "FakePorts",
    "FastHasher",
    "Fault",
    "FaultPlan",
    "InMemoryBhxhRegistry",
    "InMemoryFlowStore",
    "InMemoryRateLimiter",
    "InMemoryUserStore",
    "Recipe",
    "ScenarioError",
    "ScenarioRunner",
    "Scene",
    "SentSms",
    "SmsInbox",
    "form_for",
]
