"""The ports: what regflow needs from the outside world, one small Protocol each.

Host apps implement these to plug in their own BHXH client, SMS provider and stores;
`regflow.adapters` holds the ones regflow ships.
"""

from regflow.ports.bhxh import BhxhRegistry
from regflow.ports.clock import Clock
from regflow.ports.flows import FlowStore
from regflow.ports.hasher import PasswordHasher
from regflow.ports.identity import IdentityProvider
from regflow.ports.instrumentation import Instrumentation, Transition
from regflow.ports.limiter import RateLimiter
from regflow.ports.sms import SmsGateway
from regflow.ports.users import UserStore

__all__ = [
    "BhxhRegistry",
    "Clock",
    "FlowStore",
    "IdentityProvider",
    "Instrumentation",
    "PasswordHasher",
    "RateLimiter",
    "SmsGateway",
    "Transition",
    "UserStore",
]
