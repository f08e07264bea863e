"""The composition root: the one place that decides which adapter serves which port."""

from __future__ import annotations

from typing import TYPE_CHECKING

from regflow._engine import Engine
from regflow.adapters.argon2 import Argon2Hasher
from regflow.adapters.memory import InMemoryFlowStore, InMemoryRateLimiter, InMemoryUserStore
from regflow.adapters.system import SystemClock

if TYPE_CHECKING:
    from regflow._methods import MethodRegistry
    from regflow._policy import Policy
    from regflow.ports import (
        BhxhRegistry,
        Clock,
        FlowStore,
        PasswordHasher,
        RateLimiter,
        SmsGateway,
        UserStore,
    )


def bootstrap(  # noqa: PLR0913 - every port may be replaced, all keyword-only
    *,
    bhxh: BhxhRegistry,
    sms: SmsGateway,
    otp_secret: bytes,
    users: UserStore | None = None,
    flows: FlowStore | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock | None = None,
    policy: Policy | None = None,
    methods: MethodRegistry | None = None,
    limiter: RateLimiter | None = None,
) -> Engine:
    """Build an engine with production defaults for every port the caller leaves out.

    BHXH and SMS are the portal's own services and have no default; the password hasher
    defaults to argon2id with OWASP's parameters and the clock to the system's; the limits
    across flows are on by default (OWASP: SMS pumping), counted in this process unless a
    shared limiter (`regflow.adapters.limits`) is given.
    """
    clock = clock or SystemClock()
    return Engine(
        bhxh=bhxh,
        sms=sms,
        users=users if users is not None else InMemoryUserStore(),
        flows=flows if flows is not None else InMemoryFlowStore(),
        hasher=hasher or Argon2Hasher(),
        clock=clock,
        otp_secret=otp_secret,
        policy=policy,
        methods=methods,
        limiter=limiter if limiter is not None else InMemoryRateLimiter(clock),
    )
