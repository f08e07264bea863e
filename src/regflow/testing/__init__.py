"""Fakes for tests, regflow's own and host apps': the `httpx.MockTransport` of regflow.

Every fake keeps state a test can check::

    from regflow.testing import FakePorts

    ports = FakePorts.seeded()
    engine = ports.engine()  # every flow regflow ships
    flow = engine.start("bhxh_registration")
    ...
    code = ports.sms.last_code()

`as_async(port)` makes any fake an async port and `ports.async_engine()` the `AsyncEngine` on
them (`BlockingEngine` drives one from sync code); and `simulate`, which drives a `Crowd` of
citizens through the real engine and writes their audit logs (`regflow report` reads them);
`RecordingListener` keeps the events a `FlowListener` hears, and `FakeVeto` (the fakes'
`veto`) refuses at the registration's host hook when a test says so;
and the scenario runner, which plays generated
paths of any flow on them:
``ScenarioRunner(flow=PASSWORD_RECOVERY)`` takes the flow's `PLAYBOOKS` entry (its recipes,
`RECOVERY_RECIPES`, and the account its citizen needs first); a host's flow passes its own.
"""

from regflow.adapters.memory import (
    InMemoryBhxhRegistry,
    InMemoryFlowStore,
    InMemoryOutbox,
    InMemoryRateLimiter,
    InMemoryUserStore,
)
from regflow.tools._async_fakes import (
    AsyncPort,
    BlockingEngine,
    BlockingPort,
    as_async,
    run_blocking,
)
from regflow.tools._fakes import (
    CITIZEN,
    VNEID_CITIZEN,
    FakeClock,
    FakeIdentityPlatform,
    FakePorts,
    FakeVeto,
    FastHasher,
    Fault,
    FaultPlan,
    RecordingListener,
    SentSms,
    SmsInbox,
    form_for,
)
from regflow.tools._scenario import (
    KIT_RECIPES,
    PLAYBOOKS,
    RECIPES,
    RECOVERY_RECIPES,
    STRONG_PASSWORD,
    VNEID_RECIPES,
    Playbook,
    Prepare,
    Recipe,
    ScenarioError,
    ScenarioRunner,
    Scene,
    give_account,
)
from regflow.tools._traffic import Crowd, Truth, simulate

__all__ = [
    "CITIZEN",
    "KIT_RECIPES",
    "PLAYBOOKS",
    "RECIPES",
    "RECOVERY_RECIPES",
    "STRONG_PASSWORD",
    "VNEID_CITIZEN",
    "VNEID_RECIPES",
    "AsyncPort",
    "BlockingEngine",
    "BlockingPort",
    "Crowd",
    "FakeClock",
    "FakeIdentityPlatform",
    "FakePorts",
    "FakeVeto",
    "FastHasher",
    "Fault",
    "FaultPlan",
    "InMemoryBhxhRegistry",
    "InMemoryFlowStore",
    "InMemoryOutbox",
    "InMemoryRateLimiter",
    "InMemoryUserStore",
    "Playbook",
    "Prepare",
    "Recipe",
    "RecordingListener",
    "ScenarioError",
    "ScenarioRunner",
    "Scene",
    "SentSms",
    "SmsInbox",
    "Truth",
    "as_async",
    "form_for",
    "give_account",
    "run_blocking",
    "simulate",
]
