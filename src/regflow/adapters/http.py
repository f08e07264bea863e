"""Reference HTTP adapters for the portal's outside services: BHXH and SMS, on `httpx`.

Templates that portal teams adapt to their real services; the JSON contract they speak is
`docs/http-contract.md`. Needs the extra: ``pip install 'regflow[http]'``.

Every failure of the service — a timeout, a refused connection, a 5xx, an answer that does
not follow the contract, an open circuit — raises `UpstreamUnavailableError` (a
`PortUnavailableError`), which the engine reports as the retryable ``bhxh.unavailable`` /
``sms.unavailable``. Never a data mismatch: a broken answer is an outage, not a citizen's
error. A record of the contract's shape is returned with its values as BHXH wrote them: the
engine normalises them at the port's boundary (`regflow.ports.BhxhRegistry`). Look-ups are
idempotent and retried with backoff and jitter (`stamina`); a send is not (a retry after a
lost answer could text the citizen twice), and the citizen's "Gửi lại OTP" is its retry.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import attrs
import httpx
import stamina

from regflow._domain import BhxhRecord
from regflow._errors import PortUnavailableError
from regflow.vn._records import record_date

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from regflow._sms import SmsMessage

T = TypeVar("T")

__all__ = [
    "AsyncHttpBhxhRegistry",
    "AsyncHttpSmsGateway",
    "CircuitBreaker",
    "CircuitOpenError",
    "HttpBhxhRegistry",
    "HttpSettings",
    "HttpSmsGateway",
    "UpstreamUnavailableError",
]

#: Answers worth retrying: the service is overloaded or restarting.
_TRANSIENT_STATUSES: Final = frozenset({429, 502, 503, 504})
LOOKUP_PATH: Final = "/v1/citizens/lookup"
MESSAGES_PATH: Final = "/v1/messages"
#: The error code of a 404 that means "BHXH has no such number".
NOT_FOUND: Final = "citizen.not_found"
_RECORD_FIELDS: Final = ("bhxh_number", "full_name", "date_of_birth", "phone", "id_number")


class UpstreamUnavailableError(PortUnavailableError):
    """The service did not give a usable answer; the request may be retried later."""


class CircuitOpenError(UpstreamUnavailableError):
    """The circuit is open after repeated failures: the service is not even asked."""


class _TransientError(UpstreamUnavailableError):
    """No answer, or a status in `_TRANSIENT_STATUSES`: worth another attempt."""


class CircuitBreaker:
    """Fail fast while a service is down, so its outage does not hold every request.

    After `failure_threshold` failed calls in a row the circuit opens: calls fail at once
    for `reset_after` seconds; then one trial call is let through (half-open), whose
    success closes the circuit and whose failure opens it again.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self._monotonic = monotonic
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None and not self._trial_due()

    def call(self, fn: Callable[[], T]) -> T:
        self._admit()
        try:
            result = fn()
        except Exception:
            self._record(failed=True)
            raise
        self._record(failed=False)
        return result

    async def acall(self, fn: Callable[[], Awaitable[T]]) -> T:
        """As `call`, for a call that is awaited (the async adapters')."""
        self._admit()
        try:
            result = await fn()
        except Exception:
            self._record(failed=True)
            raise
        self._record(failed=False)
        return result

    def _admit(self) -> None:
        """Fail fast while open; once the pause is over, let one trial call through."""
        with self._lock:
            if self._opened_at is not None:
                if not self._trial_due():
                    raise CircuitOpenError("circuit open: the service failed repeatedly")
                self._opened_at = self._monotonic()  # one trial; the others still fail fast

    def _trial_due(self) -> bool:
        assert self._opened_at is not None  # noqa: S101 - only asked while open
        return self._monotonic() - self._opened_at >= self.reset_after

    def _record(self, *, failed: bool) -> None:
        with self._lock:
            self._failures = self._failures + 1 if failed else 0
            if self._failures >= self.failure_threshold:
                self._opened_at = self._monotonic()
            elif not failed:
                self._opened_at = None


@attrs.frozen(kw_only=True)
class HttpSettings:
    """How one service is reached: where, with which token, how patiently.

    `timeout` bounds each attempt (connect, read, write, pool); `attempts`, `wait_initial`
    and `wait_max` shape the retries of look-ups (exponential backoff with jitter), and
    `retry_budget` bounds their total time, so a citizen waits seconds, not minutes.
    """

    base_url: str
    token: str | None = attrs.field(default=None, repr=False)
    timeout: float = 2.0
    attempts: int = 3
    wait_initial: float = 0.1
    wait_max: float = 1.0
    retry_budget: float = 5.0


@attrs.define
class _Upstream:
    """One service: an httpx client, its circuit breaker, the contract's error handling."""

    settings: HttpSettings
    breaker: CircuitBreaker
    _client: httpx.Client

    def close(self) -> None:
        self._client.close()

    def post(
        self,
        path: str,
        body: dict[str, object],
        read: Callable[[httpx.Response], T],
        *,
        retry: bool,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        """POST `body` and `read` the answer; the breaker counts an unreadable one a failure."""
        return self.breaker.call(lambda: read(self._post(path, body, retry, headers)))

    def _post(
        self, path: str, body: dict[str, object], retry: bool, headers: Mapping[str, str] | None
    ) -> httpx.Response:
        for attempt in stamina.retry_context(**_retries(self.settings, retry=retry)):
            with attempt:
                return self._send(path, body, headers)
        raise AssertionError("unreachable: stamina re-raises the last failure")

    def _send(
        self, path: str, body: dict[str, object], headers: Mapping[str, str] | None
    ) -> httpx.Response:
        try:
            response = self._client.post(path, json=body, headers=headers)
        except httpx.HTTPError as exc:  # timeouts, refused connections, broken streams
            raise _TransientError(f"{type(exc).__name__} on {path}") from exc
        return _usable(response, path)


@attrs.define
class _AsyncUpstream:
    """`_Upstream` on `httpx.AsyncClient`: the same contract, retries and breaker, awaited."""

    settings: HttpSettings
    breaker: CircuitBreaker
    _client: httpx.AsyncClient

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post(
        self,
        path: str,
        body: dict[str, object],
        read: Callable[[httpx.Response], T],
        *,
        retry: bool,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        async def answer() -> T:
            return read(await self._post(path, body, retry, headers))

        return await self.breaker.acall(answer)

    async def _post(
        self, path: str, body: dict[str, object], retry: bool, headers: Mapping[str, str] | None
    ) -> httpx.Response:
        async for attempt in stamina.retry_context(**_retries(self.settings, retry=retry)):
            with attempt:
                return await self._send(path, body, headers)
        raise AssertionError("unreachable: stamina re-raises the last failure")

    async def _send(
        self, path: str, body: dict[str, object], headers: Mapping[str, str] | None
    ) -> httpx.Response:
        try:
            response = await self._client.post(path, json=body, headers=headers)
        except httpx.HTTPError as exc:  # timeouts, refused connections, broken streams
            raise _TransientError(f"{type(exc).__name__} on {path}") from exc
        return _usable(response, path)


def _client_options(settings: HttpSettings) -> dict[str, Any]:
    """What both clients (sync and async) are built with."""
    headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
    return {"base_url": settings.base_url, "headers": headers, "timeout": settings.timeout}


class _Patience(Protocol):
    """The settings that shape retries, the HTTP adapters' and the OpenID Connect one's."""

    @property
    def attempts(self) -> int: ...
    @property
    def retry_budget(self) -> float: ...
    @property
    def wait_initial(self) -> float: ...
    @property
    def wait_max(self) -> float: ...


def _retries(settings: _Patience, *, retry: bool) -> dict[str, Any]:
    """How one call is attempted: backoff with jitter within the budget; once for a send."""
    return {
        "on": _TransientError,
        "attempts": settings.attempts if retry else 1,
        "timeout": settings.retry_budget,
        "wait_initial": settings.wait_initial,
        "wait_max": settings.wait_max,
    }


def _usable(response: httpx.Response, path: str) -> httpx.Response:
    """The response, unless its status is one worth another attempt."""
    if response.status_code in _TRANSIENT_STATUSES or response.status_code >= 500:
        raise _TransientError(f"HTTP {response.status_code} on {path}")
    return response


def _expect(response: httpx.Response, *statuses: int) -> None:
    if response.status_code not in statuses:
        raise UpstreamUnavailableError(f"HTTP {response.status_code}: not in the contract")


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamUnavailableError("the answer is not JSON") from exc


def _sent(response: httpx.Response) -> None:
    _expect(response, 200, 202)


def _lookup_answer(response: httpx.Response) -> dict[str, Any] | None:
    _expect(response, 200, 404)
    answer = _json(response)
    if response.status_code == 404:
        _expect_not_found(answer)
        return None
    return _checked(answer)


def _expect_not_found(answer: object) -> None:
    """A 404 means "no such number" only with the contract's error code: a 404 from a wrong
    URL or a proxy must not turn every look-up into a data mismatch."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict) or error.get("code") != NOT_FOUND:
        raise UpstreamUnavailableError("HTTP 404 without the contract's not-found code")


def _checked(answer: object) -> dict[str, Any]:
    """A look-up's answer of the contract's shape; one of another shape is an outage (the
    breaker counts it), not a mismatch."""
    if not isinstance(answer, dict) or not all(
        isinstance(answer.get(name), str) for name in _RECORD_FIELDS
    ):
        raise UpstreamUnavailableError("the record does not follow the contract")
    former = answer.get("former_id_numbers", [])
    if not isinstance(former, list) or not all(isinstance(number, str) for number in former):
        raise UpstreamUnavailableError("the record's former ID numbers are not a list of text")
    return answer


def _record(answer: dict[str, Any]) -> BhxhRecord:
    """The record in a checked answer, its values as BHXH wrote them: the engine normalises
    them, and reports one it cannot as ``bhxh.record_invalid``. The date of birth is read
    here, as a `BhxhRecord` holds a date; text that is no whole date (``1960``,
    ``00/00/1960``) raises `RecordValueError`, which the engine reports the same way. It is
    read outside the breaker: a citizen's record error is no sign of an outage."""
    return BhxhRecord(
        bhxh_number=answer["bhxh_number"],
        full_name=answer["full_name"],
        date_of_birth=record_date(answer["date_of_birth"]),
        phone=answer["phone"],
        id_number=answer["id_number"],
        former_id_numbers=tuple(answer.get("former_id_numbers", ())),
    )


class _HttpAdapter:
    """What every adapter shares: its upstream and that upstream's breaker.

    `transport` is httpx's, of the adapter's kind (`httpx.MockTransport` in tests; an async
    one for the async adapters)."""

    _upstream: Any

    def __init__(
        self,
        settings: HttpSettings,
        *,
        breaker: CircuitBreaker | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        options = {"transport": transport, **_client_options(settings)}
        self._upstream = self._upstream_of(settings, breaker or CircuitBreaker(), options)

    @staticmethod
    def _upstream_of(
        settings: HttpSettings, breaker: CircuitBreaker, client_options: dict[str, Any]
    ) -> Any:  # noqa: ANN401 - the subclass's upstream, sync or async
        raise NotImplementedError

    @property
    def breaker(self) -> CircuitBreaker:
        breaker: CircuitBreaker = self._upstream.breaker
        return breaker


class _SyncHttpAdapter(_HttpAdapter):
    @staticmethod
    def _upstream_of(
        settings: HttpSettings, breaker: CircuitBreaker, client_options: dict[str, Any]
    ) -> _Upstream:
        return _Upstream(settings, breaker, httpx.Client(**client_options))

    def close(self) -> None:
        self._upstream.close()


class HttpBhxhRegistry(_SyncHttpAdapter):
    """`BhxhRegistry` over `LOOKUP_PATH`, a POST so the number stays out of URLs and access
    logs; retried, since a look-up changes nothing."""

    def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        answer = self._upstream.post(
            LOOKUP_PATH, {"bhxh_number": bhxh_number}, _lookup_answer, retry=True
        )
        return None if answer is None else _record(answer)


class HttpSmsGateway(_SyncHttpAdapter):
    """`SmsGateway` over `MESSAGES_PATH`; one attempt per send (see the module doc).

    Posts what brandname providers take: the brandname, the approved template's id and its
    parameters by name, in the template's order (for providers that number them); and the
    rendered text, for providers that match a text against the approved template.
    """

    def send(self, phone: str, message: SmsMessage) -> None:
        body, headers = _message_body(phone, message), _message_headers(message)
        self._upstream.post(MESSAGES_PATH, body, _sent, retry=False, headers=headers)


def _message_body(phone: str, message: SmsMessage) -> dict[str, object]:
    template = message.template
    return {
        "to": phone,
        "brandname": template.brandname,
        "template_id": template.id,
        "params": {name: message.params[name] for name in template.params},
        "text": message.text,
    }


def _message_headers(message: SmsMessage) -> dict[str, str]:
    """An outbox text's `Idempotency-Key` (the IETF draft's header), so that a provider that
    honours it drops the repeat a worker's retry after a lost answer would send."""
    key = message.idempotency_key
    return {} if key is None else {"Idempotency-Key": key}


class _AsyncHttpAdapter(_HttpAdapter):
    """An async adapter: close it with `aclose`, in the loop that used it."""

    @staticmethod
    def _upstream_of(
        settings: HttpSettings, breaker: CircuitBreaker, client_options: dict[str, Any]
    ) -> _AsyncUpstream:
        return _AsyncUpstream(settings, breaker, httpx.AsyncClient(**client_options))

    async def aclose(self) -> None:
        await self._upstream.aclose()


class AsyncHttpBhxhRegistry(_AsyncHttpAdapter):
    """`AsyncBhxhRegistry` on `httpx.AsyncClient`: `HttpBhxhRegistry`, awaited."""

    async def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        answer = await self._upstream.post(
            LOOKUP_PATH, {"bhxh_number": bhxh_number}, _lookup_answer, retry=True
        )
        return None if answer is None else _record(answer)


class AsyncHttpSmsGateway(_AsyncHttpAdapter):
    """`AsyncSmsGateway` on `httpx.AsyncClient`: `HttpSmsGateway`, awaited (one attempt)."""

    async def send(self, phone: str, message: SmsMessage) -> None:
        body, headers = _message_body(phone, message), _message_headers(message)
        await self._upstream.post(MESSAGES_PATH, body, _sent, retry=False, headers=headers)
