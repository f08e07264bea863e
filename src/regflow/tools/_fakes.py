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

from regflow._domain import BhxhRecord, SubmitForm, VerifiedIdentity
from regflow._shipped import ENGINE_FLOWS
from regflow._sms import SmsMessage
from regflow.adapters.memory import (
    InMemoryBhxhRegistry,
    InMemoryFlowStore,
    InMemoryRateLimiter,
    InMemoryUserStore,
)
from regflow.engine import AsyncEngine, Engine
from regflow.flows.registration import account_creation_veto
from regflow.flows.vneid import CANCELLED, IDENTITY_PORT, VneidCallback
from regflow.ports import VetoRequest
from regflow.ports.identity import IdentityRefused, Refusal, code_challenge
from regflow.ports.listener import FlowEvent
from regflow.tools._async_fakes import as_async
from regflow.vn._validation import normalise_phone

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from regflow._methods import MethodRegistry
    from regflow._policy import Policy
    from regflow.declare import FlowSpec
    from regflow.ports import FlowListener, Instrumentation, RateLimiter

T = TypeVar("T")
E = TypeVar("E", bound="FlowEvent")

#: A citizen the seeded fakes know, with the form values that match their record.
CITIZEN = BhxhRecord(
    bhxh_number="0123456789",
    full_name="Nguyễn Văn An",
    date_of_birth=date(1990, 5, 17),
    phone="+84912345678",
    id_number="001090012345",
)


#: `CITIZEN` as the national identity platform knows them: verified at level 2.
VNEID_CITIZEN = VerifiedIdentity(
    id_number=CITIZEN.id_number,
    full_name=CITIZEN.full_name,
    date_of_birth=CITIZEN.date_of_birth,
    phone=CITIZEN.phone,
    level=2,
)


@attrs.frozen
class _Grant:
    """An authorization code the fake platform issued, and what redeeming it needs."""

    challenge: str
    nonce: str
    identity: VerifiedIdentity


class FakeIdentityPlatform:
    """An `IdentityProvider` in memory: the citizen who signs in next is `citizen`.

    `approve` and `cancel` are the citizen at the platform's screen: each answers the last
    authorization request with the callback a browser would bring back. Codes work once and
    only with the request's PKCE verifier; `refuse_next` makes the next redemption refused
    (a token that fails its checks, say). For a real provider on loopback, see
    `LoopbackProvider`.
    """

    issuer = "https://vneid.example"

    def __init__(self, citizen: VerifiedIdentity = VNEID_CITIZEN) -> None:
        self.citizen = citizen
        self.requests: dict[str, tuple[str, str]] = {}  # state → (nonce, challenge)
        self.last_state: str | None = None
        self._codes: dict[str, _Grant] = {}
        self._refusals: list[IdentityRefused] = []

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        self.requests[state] = (nonce, code_challenge)
        self.last_state = state
        return f"{self.issuer}/authorize?client_id=portal&state={state}"

    def approve(self, identity: VerifiedIdentity | None = None) -> VneidCallback:
        """The citizen consents: a new code for the last request, back with its state; its
        token asserts `identity` (by default, `citizen`)."""
        state = self._last()
        nonce, challenge = self.requests[state]
        code = secrets.token_urlsafe(16)
        self._codes[code] = _Grant(challenge, nonce, identity or self.citizen)
        return VneidCallback(code=code, state=state)

    def cancel(self) -> VneidCallback:
        return VneidCallback(state=self._last(), error=CANCELLED)

    def refuse_next(self, refusal: Refusal, detail: str = "test") -> None:
        self._refusals.append(IdentityRefused(refusal, detail))

    def _last(self) -> str:
        if self.last_state is None:
            raise LookupError("no authorization request was made")
        return self.last_state

    def exchange(
        self, *, code: str, code_verifier: str, nonce: str
    ) -> VerifiedIdentity | IdentityRefused:
        grant = self._codes.pop(code, None)
        if grant is None or code_challenge(code_verifier) != grant.challenge:
            return IdentityRefused(Refusal.CODE_REJECTED, "unknown_code_or_verifier")
        if self._refusals:
            return self._refusals.pop(0)
        if nonce != grant.nonce:
            return IdentityRefused(Refusal.TOKEN_INVALID, "nonce")
        return grant.identity


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
        "id_number": "".join(filter(str.isdigit, record.id_number)),  # as printed: digits
    }
    typed.update(changes)
    return SubmitForm(**typed)  # type: ignore[arg-type]


@attrs.define
class RecordingListener:
    """A `FlowListener` that keeps every event it is told, in order, for a test to read."""

    events: list[FlowEvent] = attrs.Factory(list)

    def on_event(self, event: FlowEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        """The events of one kind (`Transitioned`, `AccountCreated`, `FlowEnded`)."""
        return [event for event in self.events if isinstance(event, kind)]


@attrs.define
class FakeVeto:
    """A host's veto a test controls: it refuses while `refusing`, and keeps each request."""

    refusing: bool = False
    requests: list[VetoRequest] = attrs.Factory(list)

    def __call__(self, request: VetoRequest) -> bool:
        self.requests.append(request)
        return self.refusing


@attrs.define
class FakePorts:
    """Every port as a fake, and an `engine()` wired to them (the tests' composition root)."""

    bhxh: InMemoryBhxhRegistry = attrs.Factory(InMemoryBhxhRegistry)
    sms: SmsInbox = attrs.Factory(SmsInbox)
    users: InMemoryUserStore = attrs.Factory(InMemoryUserStore)
    flows: InMemoryFlowStore = attrs.Factory(InMemoryFlowStore)
    hasher: FastHasher = attrs.Factory(FastHasher)
    clock: FakeClock = attrs.Factory(FakeClock)
    identity: FakeIdentityPlatform = attrs.Factory(FakeIdentityPlatform)
    #: The veto at the registration's `account_creation_veto` hook: it refuses nothing
    #: until a test sets `refusing`.
    veto: FakeVeto = attrs.Factory(FakeVeto)
    #: Counts across flows on the fake clock; an engine uses it when given ``limiter=``.
    limiter: InMemoryRateLimiter = attrs.Factory(
        lambda self: InMemoryRateLimiter(self.clock), takes_self=True
    )
    otp_secret: bytes = b"regflow-testing-secret-0123456789abcdef"
    #: The keys a rotation of `otp_secret` replaced, which codes sent under them still match.
    previous_otp_secrets: tuple[bytes, ...] = ()

    @classmethod
    def seeded(cls, *records: BhxhRecord) -> FakePorts:
        """Fakes whose BHXH registry knows `records` (by default, `CITIZEN`)."""
        return cls(bhxh=InMemoryBhxhRegistry(records or (CITIZEN,)))

    def engine(  # noqa: PLR0913 - the engine's settings, all keyword-only
        self,
        *specs: FlowSpec,
        policy: Policy | None = None,
        methods: MethodRegistry | None = None,
        limiter: RateLimiter | None = None,
        ports: Mapping[str, object] | None = None,
        instrumentation: Instrumentation | None = None,
        listeners: Sequence[FlowListener] = (),
    ) -> Engine:
        """The engine on these fakes, running `specs` (by default the flows regflow ships);
        no limits across flows unless a `limiter` is given (``limiter=ports.limiter`` counts
        on the fake clock, as the scenario runner does); `listeners` hear every step."""
        wiring = self._wiring(limiter, ports)
        return Engine(
            *(specs or ENGINE_FLOWS),
            policy=policy,
            methods=methods,
            instrumentation=instrumentation,
            listeners=listeners,
            **wiring,
        )

    def async_engine(  # noqa: PLR0913 - the engine's settings, all keyword-only
        self,
        *specs: FlowSpec,
        policy: Policy | None = None,
        methods: MethodRegistry | None = None,
        limiter: RateLimiter | None = None,
        ports: Mapping[str, object] | None = None,
        instrumentation: Instrumentation | None = None,
        listeners: Sequence[FlowListener] = (),
    ) -> AsyncEngine:
        """As `engine`, the `AsyncEngine` on these fakes made async (`as_async`): each port
        call suspends the request once, as an async adapter's would."""
        wiring = self._wiring(limiter, ports)
        return AsyncEngine(
            *(specs or ENGINE_FLOWS),
            policy=policy,
            methods=methods,
            instrumentation=instrumentation,
            listeners=listeners,
            **async_wiring(wiring),
        )

    def _wiring(
        self, limiter: RateLimiter | None, ports: Mapping[str, object] | None
    ) -> dict[str, Any]:
        """The ports and secrets of an engine on these fakes."""
        return {
            "bhxh": self.bhxh,
            "sms": self.sms,
            "users": self.users,
            "flows": self.flows,
            "hasher": self.hasher,
            "clock": self.clock,
            "otp_secret": self.otp_secret,
            "previous_otp_secrets": self.previous_otp_secrets,
            "limiter": limiter,
            "ports": {IDENTITY_PORT: self.identity, **(ports or {})},
            "vetoes": {account_creation_veto.name: self.veto},
        }


def async_wiring(wiring: Mapping[str, Any]) -> dict[str, Any]:
    """An engine's keyword arguments with every port made async (`as_async`); the clock,
    secrets and settings as they are."""
    return {
        name: _async_ports(value)
        if name == "ports"
        else as_async(value)
        if name in _PORTS
        else value
        for name, value in wiring.items()
    }


_PORTS = frozenset({"bhxh", "sms", "users", "flows", "hasher", "limiter"})


def _async_ports(ports: Mapping[str, object] | None) -> dict[str, object]:
    return {name: as_async(port) for name, port in (ports or {}).items()}


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
        outside services and stores are all wrapped (the veto is not: it is no port)."""
        return Engine(
            *(specs or ENGINE_FLOWS),
            bhxh=self.wrap("bhxh", ports.bhxh),
            sms=self.wrap("sms", ports.sms),
            users=self.wrap("users", ports.users),
            flows=self.wrap("flows", ports.flows),
            hasher=self.wrap("hasher", ports.hasher),
            clock=ports.clock,
            otp_secret=ports.otp_secret,
            limiter=None if limiter is None else self.wrap("limiter", limiter),
            policy=policy,
            ports={IDENTITY_PORT: self.wrap(IDENTITY_PORT, ports.identity)},
            # the fakes' veto as it is: a host's veto fails as a port, which `call_port`
            # already reports (tests/test_hooks.py), and the campaign counts port methods
            vetoes={account_creation_veto.name: ports.veto},
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
