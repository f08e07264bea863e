"""The step: one event applied to one snapshot, as the rules and actions of a flow see it.

A rule reads the step's facts; an action records the step's changes to the flow's context,
its errors, and the text it sends. Facts that cost a port call (a BHXH record, an account)
are `fact`s: computed once per step, on first use, so a rule that is never reached never
calls its port.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import attrs

from regflow._bridge import settle
from regflow._errors import ERRORS, DuplicateAccountError, ErrorSpec, FlowError
from regflow._limits import RateLimit
from regflow._methods import MethodRegistry
from regflow._policy import Policy
from regflow._sms import SmsMessage
from regflow.ports import (
    BhxhRegistry,
    Clock,
    Instrumentation,
    PasswordHasher,
    RateLimiter,
    SmsGateway,
    UserStore,
    Veto,
)
from regflow.ports.listener import AccountCreated

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from regflow.declare._snapshot import FlowSnapshot

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class PortFailureError(Exception):
    """A port call failed; `port` names which, so the right retryable code is reported."""

    def __init__(self, port: str) -> None:
        super().__init__(port)
        self.port = port

    #: The log event operators see; its fields are `log_fields`.
    event = "flow.port_failed"

    @property
    def code(self) -> str:
        return f"{self.port}.unavailable"

    def log_fields(self) -> dict[str, str]:
        return {"port": self.port}


#: The instrumentation of the request in progress (`observing`), for `call_port`, which
#: is called from rules that know no engine; None, the default, costs one look-up a call.
_OBSERVER: ContextVar[Instrumentation | None] = ContextVar("regflow_observer", default=None)
_UNOBSERVED: AbstractContextManager[None] = nullcontext()


@contextmanager
def observing(observer: Instrumentation) -> Iterator[None]:
    """Report the port calls made inside to `observer` (the engine's, around a request)."""
    token = _OBSERVER.set(observer)
    try:
        yield
    finally:
        _OBSERVER.reset(token)


def port_scope(port: str, operation: str) -> AbstractContextManager[None]:
    """Around a port call that `call_port` does not make (the engine's own store calls)."""
    observer = _OBSERVER.get()
    return _UNOBSERVED if observer is None else observer.port_call(port, operation)


def call_port(port: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call a port; any failure but a lost account race or a failure a rule already named
    (a `PortFailureError`, such as a record BHXH holds wrongly) becomes a `PortFailureError`.

    An async port's answer is awaited (`regflow._bridge.settle`), under `AsyncEngine`; under
    `Engine` it is an `AsyncPortError`, a failure of that port like any other (as the engine's
    own store calls report it), logged with its type."""
    observer = _OBSERVER.get()
    try:
        if observer is None:
            return settle(fn(*args, **kwargs))
        with observer.port_call(port, getattr(fn, "__name__", port).lstrip("_")):
            return settle(fn(*args, **kwargs))
    except (DuplicateAccountError, PortFailureError):
        raise
    except Exception as exc:
        raise PortFailureError(port) from exc


class MissingPortError(LookupError):
    """A flow asked for a port its engine was not given (the engine checks `requires`)."""


@attrs.frozen(kw_only=True)
class Services:
    """The ports and settings one engine works with; a flow names the ones it `requires`.

    `ports` holds a host's own ports by name, for the host's own flows (`Services.port`).
    """

    clock: Clock
    policy: Policy
    otp_secret: bytes
    methods: MethodRegistry
    #: Keys a code may also have been hashed with: the one before a rotation (or, while a
    #: rotation rolls out, the next one), so codes in flight still match (docs/deployment.md).
    previous_otp_secrets: tuple[bytes, ...] = ()
    bhxh: BhxhRegistry | None = None
    sms: SmsGateway | None = None
    users: UserStore | None = None
    hasher: PasswordHasher | None = None
    limiter: RateLimiter | None = None
    ports: Mapping[str, object] = attrs.Factory(dict)
    #: A host's vetoes, by the name of the host hook each stands at (`host_veto`).
    vetoes: Mapping[str, Veto] = attrs.Factory(dict)

    #: The names `FlowSpec.requires` may use for the ports above.
    BUILT_IN = ("bhxh", "sms", "users", "hasher", "limiter")

    def has(self, name: str) -> bool:
        """Whether the engine was given the port `name` (built-in or the host's)."""
        if name in self.BUILT_IN:
            return getattr(self, name) is not None
        return name in self.ports

    def port(self, name: str) -> Any:  # noqa: ANN401 - a host's port is of the host's type
        """A host's own port, given to `Engine(ports={name: …})`."""
        try:
            return self.ports[name]
        except KeyError:
            raise MissingPortError(name) from None


def _missing(name: str) -> MissingPortError:
    return MissingPortError(f"the flow needs the {name!r} port; give it to the Engine")


class fact(Generic[T]):  # noqa: N801 - used as a decorator, like functools.cached_property
    """A fact about a step, computed on first use and kept for the rest of the step.

    ``@fact def bhxh_record(step) -> BhxhRecord | None`` makes `bhxh_record(step)` call BHXH
    once per request however many rules read it, and not at all if none does.
    """

    def __init__(self, compute: Callable[[Step], T]) -> None:
        self._compute = compute
        self.__name__ = compute.__name__
        self.__doc__ = compute.__doc__

    def __call__(self, step: Step) -> T:
        facts = step.facts
        if self in facts:
            value: T = facts[self]
            return value
        value = facts[self] = self._compute(step)
        return value

    def __repr__(self) -> str:
        return f"<fact {self.__name__}>"


@attrs.frozen
class OutgoingSms:
    """A text the engine sends after the step is saved; `undo` reverts the step's send.

    The engine counts it against its phone first (`counter`, `limits`: the limit across
    flows) and sends nothing when the phone has no room. `quiet` keeps the saved send as it
    is when the text cannot go out: a flow that must look like a decoy (which never fails)
    may not show that it did (no error, no second save).
    """

    phone: str
    message: SmsMessage
    undo: dict[str, Any]
    counter: str
    limits: tuple[RateLimit, ...]
    quiet: bool = False


class Step:
    """One event applied to one snapshot: the facts rules read, the changes actions make.

    `context` is the flow's context before the event; `changes` the fields an action sets
    on it (the engine saves them, with the new state, as the next snapshot).
    """

    #: What the step's actions announce to the engine's listeners once it is saved: a
    #: class default, so a step that announces nothing costs nothing for it.
    notices: tuple[AccountCreated, ...] = ()

    def __init__(  # noqa: PLR0913 - the step's inputs; the per-request ones keyword-only
        self,
        services: Services,
        snapshot: FlowSnapshot,
        event: object,
        now: datetime,
        *,
        client: str | None = None,
        retry_at: dict[str, datetime | None] | None = None,
        catalogue: Mapping[str, ErrorSpec] = ERRORS,
    ) -> None:
        self.services = services
        self.snapshot = snapshot
        self.context: Any = snapshot.context
        self.event = event
        self.now = now
        self.client = client
        self.changes: dict[str, Any] = {}
        self.errors: list[FlowError] = []
        self.facts: dict[object, Any] = {}
        #: The limiter's answers to counted hits, by counter; shared by every attempt of one
        #: request, so a request that loses a race and is re-applied still counts once.
        self.retry_at: dict[str, datetime | None] = {} if retry_at is None else retry_at
        self._peeked: dict[str, datetime | None] = {}
        self._catalogue = catalogue
        #: A text to send once the step is saved, and the changes that undo it if it fails.
        self.outbox: OutgoingSms | None = None

    def announce_account(self, account_id: str, citizen: str | None) -> None:
        """Tell the listeners, once the step is saved, that it made the account
        `account_id` for `citizen` (already masked)."""
        snapshot = self.snapshot
        created = AccountCreated(
            flow=snapshot.flow,
            flow_version=snapshot.flow_version,
            flow_id=snapshot.flow_id,
            citizen=citizen,
            at=self.now,
            account_id=account_id,
        )
        self.notices = (*self.notices, created)

    def payload(self, kind: type[T]) -> T:
        """The event, which the engine has already matched to this trigger's type."""
        assert isinstance(self.event, kind)  # noqa: S101 - the engine's dispatch guarantees it
        return self.event

    def error(
        self, code: str, *, field: str | None = None, retry_at: datetime | None = None
    ) -> FlowError:
        """The reported error for `code`, from the catalogue of the engine's flows."""
        spec = self._catalogue[code]
        return FlowError(
            code=code,
            message=spec.message,
            field=field,
            retryable=spec.retryable,
            retry_at=retry_at,
        )

    @property
    def bhxh(self) -> BhxhRegistry:
        return self._required(self.services.bhxh, "bhxh")

    @property
    def users(self) -> UserStore:
        return self._required(self.services.users, "users")

    @property
    def hasher(self) -> PasswordHasher:
        return self._required(self.services.hasher, "hasher")

    @staticmethod
    def _required(port: T | None, name: str) -> T:
        if port is None:
            raise _missing(name)
        return port

    def over_limit(
        self, counter: str, value: str | None, limits: Sequence[RateLimit], *, count: bool = True
    ) -> bool:
        """Whether `value` has used up its `counter` across flows, counting this request
        when `count`. A count is taken once per request, however often it is re-applied; a
        peek (`count=False`) once per step."""
        limiter = self.services.limiter
        if limiter is None or value is None or not limits:
            return False
        answers = self.retry_at if count else self._peeked
        if counter not in answers:
            check = limiter.hit if count else limiter.peek
            key = limit_key(self.services.otp_secret, counter, value)
            answers[counter] = call_port("storage", check, key, limits)
        return answers[counter] is not None

    def retry_time(self, counter: str) -> datetime | None:
        """When `counter` has room again, by the last answer the limiter gave this step."""
        return self.retry_at.get(counter) or self._peeked.get(counter)

    @property
    def client_digest(self) -> str | None:
        """The client key as the log shows it: the keyed digest its limiter counter uses,
        so the log holds no address, and no text its renderer could fail to write."""
        client = self.client
        return None if client is None else keyed_digest(self.services.otp_secret, "client", client)


def keyed_digest(secret: bytes, counter: str, value: str) -> str:
    """`value` as a keyed digest (HMAC-SHA256, 32 hex digits): what the limiter's store and
    the logs hold instead of a phone, an ID number or a client key.

    Any text has one: a lone surrogate is encoded as it stands (``surrogatepass``, which
    gives every string its own bytes), not refused as strict UTF-8 would.
    """
    text = f"{counter}:{value}".encode("utf-8", "surrogatepass")
    return hmac.digest(secret, text, "sha256")[:16].hex()


def limit_key(secret: bytes, counter: str, value: str) -> str:
    """A counter's key: keyed digest, so no phone or ID number sits in the limiter's store."""
    return f"regflow:{counter}:{keyed_digest(secret, counter, value)}"
