"""Fakes for tests, regflow's own and host apps': the `httpx.MockTransport` of regflow.

Every fake keeps state a test can check::

    from regflow.testing import FakePorts

    ports = FakePorts.seeded()
    engine = ports.engine()
    flow = engine.start()
    ...
    code = ports.sms.last_code()
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from regflow._domain import BhxhRecord, SubmitForm
from regflow._engine import Engine
from regflow.adapters.memory import InMemoryBhxhRegistry, InMemoryFlowStore, InMemoryUserStore

if TYPE_CHECKING:
    from regflow._methods import MethodRegistry
    from regflow._policy import Policy

__all__ = [
    "CITIZEN",
    "FakeClock",
    "FakePorts",
    "FastHasher",
    "InMemoryBhxhRegistry",
    "InMemoryFlowStore",
    "InMemoryUserStore",
    "SentSms",
    "SmsInbox",
    "form_for",
]

_CODE = re.compile(r"\b(\d{6})\b")

#: A citizen the seeded fakes know, with the form values that match their record.
CITIZEN = BhxhRecord(
    bhxh_number="0123456789",
    full_name="Nguyễn Văn An",
    date_of_birth=date(1990, 5, 17),
    phone="+84912345678",
    id_number="001090012345",
)


class FakeClock:
    """A `Clock` that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        """Move time on, e.g. ``clock.advance(minutes=5)``."""
        self._now += delta if delta is not None else timedelta(**kwargs)

    def set(self, when: datetime) -> None:
        self._now = when


@attrs.frozen
class SentSms:
    phone: str
    text: str


class SmsInbox:
    """An `SmsGateway` that keeps every message; `fail_next` makes the next sends fail."""

    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self.failures_left = 0

    def send(self, phone: str, text: str) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("SMS gateway unavailable (SmsInbox.fail_next)")
        self.sent.append(SentSms(phone, text))

    def fail_next(self, times: int = 1) -> None:
        self.failures_left = times

    def last_code(self, phone: str | None = None) -> str:
        """The OTP in the latest message (to `phone`, when given)."""
        for sms in reversed(self.sent):
            if phone is None or sms.phone == phone:
                match = _CODE.search(sms.text)
                if match:
                    return match.group(1)
        raise LookupError("no OTP has been sent" + (f" to {phone}" if phone else ""))


class FastHasher:
    """A `PasswordHasher` that costs nothing: salted SHA-256, for tests only."""

    def hash(self, password: str) -> str:
        salt = secrets.token_hex(8)
        return f"fast${salt}${self._digest(salt, password)}"

    def verify(self, password_hash: str, password: str) -> bool:
        _, salt, digest = [*password_hash.split("$"), "", ""][:3]
        return hmac.compare_digest(self._digest(salt, password), digest)

    @staticmethod
    def _digest(salt: str, password: str) -> str:
        return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def form_for(record: BhxhRecord = CITIZEN, /, **changes: str | None) -> SubmitForm:
    """The BHXH form as a citizen would type it for `record`; `changes` alter single fields."""
    typed: dict[str, str | None] = {
        "bhxh_number": record.bhxh_number,
        "full_name": record.full_name,
        "date_of_birth": record.date_of_birth.strftime("%d/%m/%Y"),
        "phone": "0" + record.phone.removeprefix("+84"),
        "email": None,
    }
    typed.update(changes)
    return SubmitForm(**typed)  # type: ignore[arg-type]


@attrs.define
class FakePorts:
    """Every port as a fake, and an `engine()` wired to them (the tests' composition root)."""

    bhxh: InMemoryBhxhRegistry = attrs.Factory(InMemoryBhxhRegistry)
    sms: SmsInbox = attrs.Factory(SmsInbox)
    users: InMemoryUserStore = attrs.Factory(InMemoryUserStore)
    flows: InMemoryFlowStore = attrs.Factory(InMemoryFlowStore)
    hasher: FastHasher = attrs.Factory(FastHasher)
    clock: FakeClock = attrs.Factory(FakeClock)
    otp_secret: bytes = b"regflow-testing-secret-0123456789abcdef"

    @classmethod
    def seeded(cls, *records: BhxhRecord) -> FakePorts:
        """Fakes whose BHXH registry knows `records` (by default, `CITIZEN`)."""
        return cls(bhxh=InMemoryBhxhRegistry(records or (CITIZEN,)))

    def engine(
        self,
        *,
        policy: Policy | None = None,
        methods: MethodRegistry | None = None,
        machine: Any = None,  # noqa: ANN401 - a transitions.Machine, which is untyped
    ) -> Engine:
        return Engine(
            bhxh=self.bhxh,
            sms=self.sms,
            users=self.users,
            flows=self.flows,
            hasher=self.hasher,
            clock=self.clock,
            otp_secret=self.otp_secret,
            policy=policy,
            methods=methods,
            machine=machine,
        )


# The scenario runner builds on the fakes above, so it is imported once they exist.
from regflow._scenario import (  # noqa: E402
    RECIPES,
    STRONG_PASSWORD,
    Recipe,
    ScenarioError,
    ScenarioRunner,
    Scene,
)

__all__ += [
    "RECIPES",
    "STRONG_PASSWORD",
    "Recipe",
    "ScenarioError",
    "ScenarioRunner",
    "Scene",
]
