"""The reference `IdentityProvider`: the national identity platform (VNeID) over OpenID
Connect, on `httpx` and `joserfc`. Needs the extra: ``pip install 'regflow[oidc]'``.

It is configured by the platform's discovery document (``/.well-known/openid-configuration``,
whose ``issuer`` must be the one configured) and its JWKS, both fetched when first needed
and kept; the keys are fetched again once when a token names a key not in them (the
platform rotated its keys). The code is redeemed at the token endpoint with the PKCE
verifier and the client's secret (``client_secret_basic``), and the ID token is checked
by joserfc: its signature by the platform's keys (asymmetric algorithms only, never
``none``), its ``iss``, ``aud``, ``exp``, ``iat`` and ``nonce``.

Two kinds of failure, kept apart: the platform *refused* the citizen's code or sent a token
that fails a check (`IdentityRefused`: the flow tells the citizen to sign in again), or the
platform is *unavailable* (a timeout, a refused connection, a 5xx, an answer outside the
protocol, a client the platform does not know): `UpstreamUnavailableError`, which the engine
reports as the retryable ``identity.unavailable``. Fetching the discovery document and the
keys is retried with backoff and jitter (`stamina`); redeeming a code is tried once, as a
code works once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

import attrs
import httpx
import stamina
import structlog
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

from regflow._domain import VerifiedIdentity
from regflow.adapters.http import (
    CircuitBreaker,
    UpstreamUnavailableError,
    _retries,
    _TransientError,
    _usable,
)
from regflow.ports.identity import IdentityRefused, Refusal

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["DISCOVERY_PATH", "AsyncOidcIdentityProvider", "OidcIdentityProvider", "OidcSettings"]

DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
#: The discovery document's entries the adapter needs.
_ENDPOINTS: Final = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
#: The claims each failed check names, as the log and `IdentityRefused.detail` say it.
_CHECKS: Final = {"iss": "issuer", "aud": "audience", "nonce": "nonce", "exp": "expiry"}
#: The OAuth error of a code that is used, expired or another client's (RFC 6749 §5.2).
_INVALID_GRANT: Final = "invalid_grant"

_log = structlog.get_logger("regflow.oidc")


def _default_levels() -> dict[str, int]:
    return {"1": 1, "2": 2}


@attrs.frozen(kw_only=True)
class OidcSettings:
    """How the portal is registered with the platform, and how patiently it is asked.

    `issuer` is the platform's issuer identifier (its discovery document is under it);
    `client_id`, `client_secret` and `redirect_uri` are what the platform registered for
    the portal. The ``acr`` claim says the assurance level; `levels` maps its values to
    levels (an ``acr`` not in it is level 0, below any minimum). `leeway` is the clock skew
    allowed on ``exp`` and ``iat``, in seconds. `timeout` bounds each HTTP attempt;
    `attempts`, `wait_initial`, `wait_max` and `retry_budget` shape the retries of the
    discovery document and the keys.
    """

    issuer: str
    client_id: str
    client_secret: str = attrs.field(repr=False)
    redirect_uri: str
    scope: str = "openid profile phone"
    algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256")
    levels: Mapping[str, int] = attrs.Factory(_default_levels)
    leeway: int = 60
    timeout: float = 2.0
    attempts: int = 3
    wait_initial: float = 0.1
    wait_max: float = 1.0
    retry_budget: float = 5.0


class _OidcClient:
    """What both adapters do without I/O: build the requests, read the answers, check the
    ID token. The sync and async adapters add only the calls, so the protocol is written
    once."""

    def __init__(
        self,
        settings: OidcSettings,
        breaker: CircuitBreaker | None,
        now: Callable[[], int] | None,
    ) -> None:
        self.settings = settings
        self.breaker = breaker or CircuitBreaker()
        self._now = now or (lambda: int(time.time()))
        self._metadata: dict[str, str] | None = None
        self._keys: KeySet | None = None

    def _authorization_url(self, endpoint: str, state: str, nonce: str, challenge: str) -> str:
        settings = self.settings
        query = {
            "response_type": "code",
            "client_id": settings.client_id,
            "redirect_uri": settings.redirect_uri,
            "scope": settings.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    @staticmethod
    def _refused(refused: IdentityRefused) -> IdentityRefused:
        _log.info("identity.refused", refusal=refused.refusal.value, detail=refused.detail)
        return refused

    # --- the platform's documents -------------------------------------------------------------

    def _discovery_url(self) -> str:
        return f"{self.settings.issuer.rstrip('/')}{DISCOVERY_PATH}"

    def _metadata_of(self, document: object) -> dict[str, str]:
        if not isinstance(document, dict) or not all(
            isinstance(document.get(name), str) for name in _ENDPOINTS
        ):
            raise UpstreamUnavailableError("the discovery document lacks an endpoint")
        if document["issuer"] != self.settings.issuer:
            raise UpstreamUnavailableError("the discovery document is another issuer's")
        return {name: document[name] for name in _ENDPOINTS}

    def _keys_held(self, kid: object) -> KeySet | None:
        """The platform's keys, or None when they must be fetched (again: they do not hold
        the token's key)."""
        if self._keys is None or (isinstance(kid, str) and not _holds(self._keys, kid)):
            return None
        return self._keys

    # --- the token --------------------------------------------------------------------------

    def _token_request(self, code: str, code_verifier: str) -> dict[str, Any]:
        """The token endpoint's request (`httpx`'s keyword arguments) that redeems `code`."""
        settings = self.settings
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.redirect_uri,
            "code_verifier": code_verifier,
        }
        # RFC 6749 §2.3.1: the client's id and secret are form-encoded inside Basic.
        auth = (quote(settings.client_id, safe=""), quote(settings.client_secret, safe=""))
        return {"data": form, "auth": auth}

    def _identity_of(
        self, token: str, nonce: str, keys: KeySet
    ) -> VerifiedIdentity | IdentityRefused:
        try:
            claims = self._verified_claims(token, nonce, keys)
            return _identity(claims, self.settings.levels)
        except _TokenRefusedError as refused:
            return self._refused(IdentityRefused(Refusal.TOKEN_INVALID, refused.detail))

    def _verified_claims(self, token: str, nonce: str, keys: KeySet) -> dict[str, Any]:
        settings = self.settings
        try:
            decoded = jwt.decode(token, keys, algorithms=list(settings.algorithms))
        except (JoseError, ValueError) as exc:  # a bad signature, an unknown key, `none`…
            raise _TokenRefusedError("signature") from exc
        registry = jwt.JWTClaimsRegistry(
            now=self._now,
            leeway=settings.leeway,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise _TokenRefusedError("expiry") from exc
        except (InvalidClaimError, MissingClaimError) as exc:
            raise _TokenRefusedError(_CHECKS.get(exc.claim, "claims")) from exc
        except JoseError as exc:  # issued in the future, not yet valid
            raise _TokenRefusedError("claims") from exc
        return decoded.claims


class OidcIdentityProvider(_OidcClient):
    """`IdentityProvider` over OpenID Connect's authorization code flow with PKCE."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        now: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(settings, breaker, now)
        self._client = httpx.Client(timeout=settings.timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        endpoint = self._endpoint("authorization_endpoint")
        return self._authorization_url(endpoint, state, nonce, code_challenge)

    def exchange(
        self, *, code: str, code_verifier: str, nonce: str
    ) -> VerifiedIdentity | IdentityRefused:
        token = self.breaker.call(lambda: self._redeem(code, code_verifier))
        if isinstance(token, IdentityRefused):
            return self._refused(token)
        kid = _kid_of(token)
        if isinstance(kid, IdentityRefused):
            return self._refused(kid)
        return self._identity_of(token, nonce, self._key_set(kid))

    def _endpoint(self, name: str) -> str:
        if self._metadata is None:
            self._metadata = self.breaker.call(
                lambda: self._metadata_of(_json(self._get(self._discovery_url())))
            )
        return self._metadata[name]

    def _key_set(self, kid: object) -> KeySet:
        keys = self._keys_held(kid)
        if keys is None:
            uri = self._endpoint("jwks_uri")
            keys = self._keys = self.breaker.call(lambda: _key_set(_json(self._get(uri))))
        return keys

    def _get(self, url: str) -> httpx.Response:
        for attempt in stamina.retry_context(**_retries(self.settings, retry=True)):
            with attempt:
                return _fetched(url, _send(url, lambda: self._client.get(url)))
        raise AssertionError("unreachable: stamina re-raises the last failure")

    def _redeem(self, code: str, code_verifier: str) -> str | IdentityRefused:
        """The ID token the code earns, or the platform's refusal of the code."""
        url, request = self._endpoint("token_endpoint"), self._token_request(code, code_verifier)
        return _token_of(_send(url, lambda: self._client.post(url, **request)))


class AsyncOidcIdentityProvider(_OidcClient):
    """`AsyncIdentityProvider` over OpenID Connect, on `httpx.AsyncClient`: the same
    requests, checks and answers as `OidcIdentityProvider`, awaited (`AsyncEngine`)."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        now: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(settings, breaker, now)
        self._client = httpx.AsyncClient(timeout=settings.timeout, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        endpoint = await self._endpoint("authorization_endpoint")
        return self._authorization_url(endpoint, state, nonce, code_challenge)

    async def exchange(
        self, *, code: str, code_verifier: str, nonce: str
    ) -> VerifiedIdentity | IdentityRefused:
        token = await self.breaker.acall(lambda: self._redeem(code, code_verifier))
        if isinstance(token, IdentityRefused):
            return self._refused(token)
        kid = _kid_of(token)
        if isinstance(kid, IdentityRefused):
            return self._refused(kid)
        return self._identity_of(token, nonce, await self._key_set(kid))

    async def _endpoint(self, name: str) -> str:
        if self._metadata is None:
            self._metadata = await self.breaker.acall(self._discover)
        return self._metadata[name]

    async def _discover(self) -> dict[str, str]:
        return self._metadata_of(_json(await self._get(self._discovery_url())))

    async def _key_set(self, kid: object) -> KeySet:
        keys = self._keys_held(kid)
        if keys is None:
            keys = self._keys = await self.breaker.acall(self._fetch_keys)
        return keys

    async def _fetch_keys(self) -> KeySet:
        return _key_set(_json(await self._get(await self._endpoint("jwks_uri"))))

    async def _get(self, url: str) -> httpx.Response:
        async for attempt in stamina.retry_context(**_retries(self.settings, retry=True)):
            with attempt:
                return _fetched(url, await _asend(url, self._client.get(url)))
        raise AssertionError("unreachable: stamina re-raises the last failure")

    async def _redeem(self, code: str, code_verifier: str) -> str | IdentityRefused:
        url = await self._endpoint("token_endpoint")
        request = self._token_request(code, code_verifier)
        return _token_of(await _asend(url, self._client.post(url, **request)))


def _send(url: str, request: Callable[[], httpx.Response]) -> httpx.Response:
    try:
        return _usable(request(), url)
    except httpx.HTTPError as exc:
        raise _TransientError(f"{type(exc).__name__} on {url}") from exc


async def _asend(url: str, request: Awaitable[httpx.Response]) -> httpx.Response:
    try:
        return _usable(await request, url)
    except httpx.HTTPError as exc:
        raise _TransientError(f"{type(exc).__name__} on {url}") from exc


def _fetched(url: str, response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise UpstreamUnavailableError(f"HTTP {response.status_code} on {url}")
    return response


def _token_of(response: httpx.Response) -> str | IdentityRefused:
    """The ID token of the token endpoint's answer, or its refusal of the code."""
    answer = _json(response)
    if response.status_code == 400 and _error_of(answer) == _INVALID_GRANT:
        return IdentityRefused(Refusal.CODE_REJECTED, _INVALID_GRANT)
    if response.status_code != 200 or not isinstance(answer, dict):
        # invalid_client, unauthorized_client…: the portal's registration, not the citizen
        raise UpstreamUnavailableError(f"the token endpoint answered {response.status_code}")
    token = answer.get("id_token")
    if not isinstance(token, str):
        raise UpstreamUnavailableError("the token endpoint sent no ID token")
    return token


def _kid_of(token: str) -> object:
    """The ``kid`` of the token's header (None when it names none), or its refusal as
    malformed."""
    try:
        return jws.extract_compact(token.encode("ascii")).headers().get("kid")
    except (JoseError, ValueError, UnicodeError):
        return IdentityRefused(Refusal.TOKEN_INVALID, "malformed")


class _TokenRefusedError(Exception):
    """The ID token fails a check; `detail` names which."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamUnavailableError("the answer is not JSON") from exc


def _error_of(answer: object) -> object:
    return answer.get("error") if isinstance(answer, dict) else None


def _key_set(document: object) -> KeySet:
    if not isinstance(document, dict):
        raise UpstreamUnavailableError("the JWKS is not a key set")
    try:
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise UpstreamUnavailableError("the JWKS holds no usable key") from exc


def _holds(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def _text_claim(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str):
        raise _TokenRefusedError("claims")
    return value


def _identity(claims: Mapping[str, Any], levels: Mapping[str, int]) -> VerifiedIdentity:
    """The identity the verified claims assert. The platform's values are the flow's to
    normalise; a claim of the wrong type, or a birth date that is no date, fails here."""
    former = claims.get("former_id_numbers", [])
    if not isinstance(former, list) or not all(isinstance(n, str) for n in former):
        raise _TokenRefusedError("claims")
    try:
        born = date.fromisoformat(_text_claim(claims, "birthdate"))
    except ValueError as exc:
        raise _TokenRefusedError("claims") from exc
    acr = claims.get("acr")
    return VerifiedIdentity(
        id_number=_text_claim(claims, "id_number"),
        full_name=_text_claim(claims, "name"),
        date_of_birth=born,
        phone=_text_claim(claims, "phone_number"),
        level=levels.get(acr, 0) if isinstance(acr, str) else 0,
        former_id_numbers=tuple(former),
    )
