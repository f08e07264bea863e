"""A real OpenID Connect provider on loopback, for tests of a portal's sign-up by VNeID.

`LoopbackProvider` serves the discovery document, the JWKS, the authorization endpoint
(a consent page with "Đồng ý" and "Hủy", or ``decision=approve|cancel`` in its query) and
the token endpoint (client authentication, single-use codes, PKCE S256) on 127.0.0.1, and
signs its ID tokens with an RSA key it makes (`joserfc`). A test changes what the next
token says (`token_changes`), signs it with a key of its own (`sign_with`), or makes the
token endpoint fail (`fail_token`)::

    with LoopbackProvider() as provider:
        settings = provider.settings(redirect_uri="http://127.0.0.1:5000/vneid/callback")
        ...
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from regflow.adapters.oidc import DISCOVERY_PATH, OidcSettings
from regflow.ports.identity import code_challenge
from regflow.tools._fakes import VNEID_CITIZEN

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from regflow._domain import VerifiedIdentity

CLIENT_ID: Final = "regflow-portal"
CLIENT_SECRET: Final = "loopback-client-secret"  # noqa: S105 - a test client's, public
#: How long a code of the provider works.
CODE_LIFETIME: Final = 60


def claims_of(identity: VerifiedIdentity) -> dict[str, Any]:
    """The claims the provider asserts for `identity` (its ``acr`` is the level)."""
    return {
        "sub": f"vneid-{identity.id_number}",
        "id_number": identity.id_number,
        "name": identity.full_name,
        "birthdate": identity.date_of_birth.isoformat(),
        "phone_number": identity.phone,
        "acr": str(identity.level),
        "former_id_numbers": list(identity.former_id_numbers),
    }


@attrs.define
class _Grant:
    redirect_uri: str
    nonce: str
    challenge: str
    claims: dict[str, Any]
    expires: float


class LoopbackProvider:
    """An OpenID Connect provider on ``127.0.0.1`` (a free port), for one test run.

    `citizen` is whom the next sign-in asserts; `redirect_uris` the ones registered for
    `CLIENT_ID` (any loopback URI when empty). `issued` counts the tokens it issued.
    """

    def __init__(self, citizen: VerifiedIdentity = VNEID_CITIZEN) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "loopback-1", "use": "sig"})
        self.issued = 0
        self._lock = threading.Lock()
        self.reset(citizen)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def reset(self, citizen: VerifiedIdentity = VNEID_CITIZEN) -> None:
        """Forget every change a test made (the key stays): one provider serves many tests."""
        self.citizen = citizen
        self.redirect_uris: set[str] = set()
        #: Claims the next ID token gets instead of its own (``{"exp": 0}``: expired).
        self.token_changes: dict[str, Any] = {}
        #: A key the next ID token is signed with instead of `key` (a forged token).
        self.sign_with: RSAKey | None = None
        #: How long its codes work, in seconds (negative: every code is already expired).
        self.code_lifetime: float = CODE_LIFETIME
        #: Changes the next ID token's text after it is signed (a token tampered in transit).
        self.tamper: Callable[[str], str] | None = None
        self._failures: list[int] = []
        self._grants: dict[str, _Grant] = {}

    @property
    def issuer(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def settings(self, *, redirect_uri: str, **changes: Any) -> OidcSettings:  # noqa: ANN401
        """The adapter's settings for this provider's client, retries kept short."""
        values = {"attempts": 2, "wait_initial": 0.01, "wait_max": 0.02, **changes}
        return OidcSettings(
            issuer=self.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=redirect_uri,
            **values,
        )

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_token(self, status: int = 503, times: int = 1) -> None:
        """The token endpoint answers `status` to the next `times` requests."""
        self._failures.extend([status] * times)

    def rotate_key(self) -> None:
        """Sign from now on with a new key (the JWKS then holds only it)."""
        self.key = RSAKey.generate_key(
            2048, parameters={"kid": f"loopback-{secrets.token_hex(4)}", "use": "sig"}
        )

    def mint(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        """An ID token with `claims`, signed by `key` (by default the provider's)."""
        signer = key or self.key
        header = {"alg": "RS256", "kid": signer.kid, "typ": "JWT"}
        return jwt.encode(header, claims, signer)

    # --- the endpoints ----------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        issuer = self.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def jwks(self) -> dict[str, Any]:
        document: dict[str, Any] = dict(KeySet([self.key]).as_dict(private=False))
        return document

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """The authorization endpoint: (status, headers, body)."""
        redirect_uri = query.get("redirect_uri", "")
        if not self._registered(query.get("client_id"), redirect_uri):
            return 400, {}, "unknown client or redirect_uri"
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            return 400, {}, "authorization code flow with S256 PKCE only"
        decision = query.get("decision")
        if decision is None:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, self._consent_page(query)
        back: dict[str, str] = {"state": query.get("state", "")}
        if decision == "approve":
            back["code"] = self._grant(query)
        else:
            back["error"] = "access_denied"
        return 302, {"Location": f"{redirect_uri}?{urlencode(back)}"}, ""

    def _registered(self, client_id: str | None, redirect_uri: str) -> bool:
        if client_id != CLIENT_ID:
            return False
        if self.redirect_uris:
            return redirect_uri in self.redirect_uris
        return urlsplit(redirect_uri).hostname in {"127.0.0.1", "localhost"}

    def _grant(self, query: dict[str, str]) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = _Grant(
                redirect_uri=query["redirect_uri"],
                nonce=query.get("nonce", ""),
                challenge=query.get("code_challenge", ""),
                claims=claims_of(self.citizen),
                expires=time.time() + self.code_lifetime,
            )
        return code

    def _consent_page(self, query: dict[str, str]) -> str:
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        name = html.escape(self.citizen.full_name)
        return (
            "<!doctype html><html lang='vi'><meta charset='utf-8'><title>VNeID</title>"
            f"<h1>Đăng nhập bằng VNeID</h1><p>Công dân: {name}</p>"
            f"<form method='get' action='/authorize'>{fields}"
            "<button name='decision' value='approve'>Đồng ý</button>"
            "<button name='decision' value='cancel'>Hủy</button></form></html>"
        )

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        """The token endpoint: (status, JSON answer)."""
        if self._failures:
            return self._failures.pop(0), {"error": "temporarily_unavailable"}
        if authorization != _basic(CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # a code works once
        if (
            grant is None
            or grant.expires < time.time()
            or grant.redirect_uri != form.get("redirect_uri")
            or code_challenge(form.get("code_verifier", "")) != grant.challenge
        ):
            return 400, {"error": "invalid_grant"}
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self._id_token(grant),
        }

    def _id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **grant.claims,
            **self.token_changes,
        }
        key, self.sign_with, self.token_changes = self.sign_with, None, {}
        tamper, self.tamper = self.tamper, None
        self.issued += 1
        token = self.mint(claims, key)
        return tamper(token) if tamper else token


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class _Handler(BaseHTTPRequestHandler):
    """The provider's HTTP face; `provider` is set by `_handler`."""

    provider: LoopbackProvider

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401
        """Quiet: a test's output is its own."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == DISCOVERY_PATH:
            self._json(200, self.provider.discovery())
        elif parts.path == "/jwks":
            self._json(200, self.provider.jwks())
        elif parts.path == "/authorize":
            status, headers, body = self.provider.authorize(query)
            self._answer(status, headers, body.encode())
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/token":
            self._json(404, {"error": "not_found"})
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        status, answer = self.provider.token(form, self.headers.get("Authorization"))
        self._json(status, answer)

    def _json(self, status: int, answer: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        self._answer(status, headers, json.dumps(answer).encode())

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _handler(provider: LoopbackProvider) -> type[BaseHTTPRequestHandler]:
    return type("LoopbackHandler", (_Handler,), {"provider": provider})
