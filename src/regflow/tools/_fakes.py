"""The fakes behind `regflow.testing`: ports with state a test can check.

Import them from `regflow.testing`; this module exists so that the scenario runner can build
on the fakes without importing the module that re-exports it.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from regflow._domain import BhxhRecord, SubmitForm
from regflow._shipped import SHIPPED_FLOWS
from regflow._sms import SmsMessage
from regflow.adapters.memory import (
    InMemoryBhxhRegistry,
    InMemoryFlowStore,
    InMemoryRateLimiter,
    InMemoryUserStore,
)
from regflow.engine import Engine
from regflow.vn._validation import normalise_phone

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from regflow._methods import MethodRegistry
    from regflow._policy import Policy
    from regflow.declare import FlowSpec
    from regflow.ports import Instrumentation, RateLimiter

T = TypeVar("T")

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
    """One message `SmsInbox` was given: the template and parameters, and the text."""

    phone: str
    message: SmsMessage

    @property
    def text(self) -> str:
        return self.message.text


class SmsInbox:
    """An `SmsGateway` that keeps every message; `fail_next` makes the next sends fail."""

    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self.failures_left = 0

    def send(self, phone: str, message: SmsMessage) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("SMS gateway unavailable (SmsInbox.fail_next)")
        self.sent.append(SentSms(phone, message))

    def fail_next(self, times: int = 1) -> None:
        self.failures_left = times

    def last_code(self, phone: str | None = None) -> str:
        """The OTP in the latest message (to `phone`, when given): its ``code`` parameter."""
        for sms in reversed(self.sent):
            if phone is None or sms.phone == phone:
                code = sms.message.params.get("code")
                if code is not None:
                    return code
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
        "phone": "0" + (normalise_phone(record.phone) or record.phone).removeprefix("+84"),
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
    #: Counts across flows on the fake clock; an engine uses it when given ``limiter=``.
    limiter: InMemoryRateLimiter = attrs.Factory(
        lambda self: InMemoryRateLimiter(self.clock), takes_self=True
    )
    otp_secret: bytes = b"regflow-testing-secret-0123456789abcdef"

    @classmethod
    def seeded(cls, *records: BhxhRecord) -> FakePorts:
        """Fakes whose BHXH registry knows `records` (by default, `CITIZEN`)."""
        return cls(bhxh=InMemoryBhxhRegistry(records or (CITIZEN,)))

    def engine(
        self,
        *specs: FlowSpec,
        policy: Policy | None = None,
        methods: MethodRegistry | None = None,
        limiter: RateLimiter | None = None,
        ports: Mapping[str, object] | None = None,
        instrumentation: Instrumentation | None = None,
    ) -> Engine:
        """The engine on these fakes, running `specs` (by default the flows regflow ships);
        no limits across flows unless a `limiter` is given (``limiter=ports.limiter`` counts
        on the fake clock, as the scenario runner does)."""
        return Engine(
            *(specs or SHIPPED_FLOWS),
            bhxh=self.bhxh,
            sms=self.sms,
            users=self.users,
            flows=self.flows,
            hasher=self.hasher,
            clock=self.clock,
            otp_secret=self.otp_secret,
            policy=policy,
            methods=methods,
            limiter=limiter,
            ports=ports,
            instrumentation=instrumentation,
        )


class Fault(enum.Enum):
    """How an injected fault hits a port call."""

    #: The call fails before it does anything (a refused connection).
    REFUSED = "refused"
    #: The call does its work, then fails (a timeout after the write): the caller cannot
    #: tell whether it happened.
    TIMED_OUT = "timed_out"


class FaultPlan:
    """Fails the `fail_at`-th port call (1-based) across every port it wraps.

    Run a scenario once with ``fail_at=None`` to learn how many calls it makes
    (`calls`), then once per call with the fault there::

        plan = FaultPlan(fail_at=3, fault=Fault.TIMED_OUT)
        engine = plan.engine(FakePorts.seeded())
        ...
        assert plan.injected == "flows.save"
    """

    def __init__(self, fail_at: int | None = None, fault: Fault = Fault.REFUSED) -> None:
        self.fail_at = fail_at
        self.fault = fault
        self.calls: list[str] = []
        self.injected: str | None = None
        #: While False, calls pass through uncounted: a test's own arrangements.
        self.armed = True

    def wrap(self, name: str, port: T) -> T:
        """`port` with every method call counted, and failed when its turn comes."""
        return cast("T", _FaultyPort(self, name, port))

    def engine(
        self,
        ports: FakePorts,
        *specs: FlowSpec,
        limiter: RateLimiter | None = None,
        policy: Policy | None = None,
    ) -> Engine:
        """An engine on `ports` (running `specs`, by default the flows regflow ships) whose
        outside services and stores are all wrapped."""
        return Engine(
            *(specs or SHIPPED_FLOWS),
            bhxh=self.wrap("bhxh", ports.bhxh),
            sms=self.wrap("sms", ports.sms),
            users=self.wrap("users", ports.users),
            flows=self.wrap("flows", ports.flows),
            hasher=self.wrap("hasher", ports.hasher),
            clock=ports.clock,
            otp_secret=ports.otp_secret,
            limiter=None if limiter is None else self.wrap("limiter", limiter),
            policy=policy,
        )

    def call(self, name: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - any port method
        if not self.armed:
            return method(*args, **kwargs)
        self.calls.append(name)
        if len(self.calls) != self.fail_at:
            return method(*args, **kwargs)
        self.injected = name
        if self.fault is Fault.REFUSED:
            raise ConnectionError(f"injected fault: {name} refused")
        method(*args, **kwargs)
        raise TimeoutError(f"injected fault: {name} timed out after it ran")


class _FaultyPort:
    """A port whose public methods go through a `FaultPlan`; attributes pass through."""

    def __init__(self, plan: FaultPlan, name: str, port: object) -> None:
        self._plan = plan
        self._name = name
        self._port = port

    def __getattr__(self, attribute: str) -> Any:  # noqa: ANN401 - whatever the port has
        value = getattr(self._port, attribute)
        if attribute.startswith("_") or not callable(value):
            return value
        name = f"{self._name}.{attribute}"

        def call(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - any port method
            return self._plan.call(name, value, *args, **kwargs)

        return call
