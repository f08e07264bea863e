"""The ports: what regflow needs from the outside world, one small Protocol each.

Host apps implement these to plug in their own BHXH client, SMS provider and stores;
`regflow.adapters` holds the ones regflow ships. Each I/O port has an `Async…` twin, the
same methods as coroutines, for `AsyncEngine`.
"""

from regflow.ports.bhxh import AsyncBhxhRegistry, BhxhRegistry
from regflow.ports.clock import Clock
from regflow.ports.flows import AsyncFlowStore, FlowStore
from regflow.ports.hasher import AsyncPasswordHasher, PasswordHasher
from regflow.ports.identity import AsyncIdentityProvider, IdentityProvider
from regflow.ports.instrumentation import Instrumentation, Transition
from regflow.ports.limiter import AsyncRateLimiter, RateLimiter
from regflow.ports.listener import AccountCreated, FlowEnded, FlowEvent, FlowListener, Transitioned
from regflow.ports.outbox import (
    AsyncOutboxStore,
    ClaimedMessage,
    Outbox,
    OutboxMessage,
    OutboxQueue,
    OutboxStore,
)
from regflow.ports.sms import AsyncSmsGateway, SmsGateway
from regflow.ports.users import AsyncUserStore, UserStore
from regflow.ports.veto import Veto, VetoRequest

__all__ = [
    "AccountCreated",
    "AsyncBhxhRegistry",
    "AsyncFlowStore",
    "AsyncIdentityProvider",
    "AsyncOutboxStore",
    "AsyncPasswordHasher",
    "AsyncRateLimiter",
    "AsyncSmsGateway",
    "AsyncUserStore",
    "BhxhRegistry",
    "ClaimedMessage",
    "Clock",
    "FlowEnded",
    "FlowEvent",
    "FlowListener",
    "FlowStore",
    "IdentityProvider",
    "Instrumentation",
    "Outbox",
    "OutboxMessage",
    "OutboxQueue",
    "OutboxStore",
    "PasswordHasher",
    "RateLimiter",
    "SmsGateway",
    "Transition",
    "Transitioned",
    "UserStore",
    "Veto",
    "VetoRequest",
]
