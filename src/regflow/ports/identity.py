"""The national identity platform (VNeID) a citizen proves who they are at."""

from __future__ import annotations

import base64
import enum
import hashlib
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    from regflow._domain import VerifiedIdentity


class Refusal(enum.StrEnum):
    """Why the platform's answer to a callback is no identity, the citizen's side of it:
    the code was refused (used already, expired, not this client's), or the ID token fails
    a check (signature, issuer, audience, nonce, expiry, its claims)."""

    CODE_REJECTED = "code_rejected"
    TOKEN_INVALID = "token_invalid"  # noqa: S105 - a reason, not a secret


@attrs.frozen
class IdentityRefused:
    """The platform's answer carries no identity; `detail` says which check failed, for
    the operators' log (never a token, a code or a claim's value)."""

    refusal: Refusal
    detail: str


def code_challenge(code_verifier: str) -> str:
    """PKCE's S256 challenge of a verifier (RFC 7636 §4.2): what the authorization request
    carries, so that only who holds the verifier can redeem the code."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class IdentityProvider(Protocol):
    """The platform, as the VNeID flow needs it: OpenID Connect's authorization code flow
    with PKCE (RFC 7636), `state` and `nonce`.

    The flow makes the secrets and keeps them server-side; the provider builds the URL the
    citizen is sent to, and redeems the code the callback brings at the token endpoint,
    checking the ID token it gets back.
    """

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """The URL of the platform's authorization endpoint for this request (S256 PKCE).

        Raise (anything) when the platform cannot be reached (its discovery document, say):
        the engine reports a retryable ``identity.unavailable``."""
        ...

    def exchange(
        self, *, code: str, code_verifier: str, nonce: str
    ) -> VerifiedIdentity | IdentityRefused:
        """Redeem `code` with `code_verifier`, and return the identity of the verified ID
        token (whose ``nonce`` must be `nonce`), or why the answer carries none.

        Raise (anything) when the platform cannot answer (a timeout, a 5xx, keys that
        cannot be fetched, an answer outside the protocol): the engine reports a retryable
        ``identity.unavailable``, never the citizen's mistake."""
        ...


class AsyncIdentityProvider(Protocol):
    """`IdentityProvider` for `AsyncEngine`: the same calls, awaited."""

    async def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """As `IdentityProvider.authorization_url`."""
        ...

    async def exchange(
        self, *, code: str, code_verifier: str, nonce: str
    ) -> VerifiedIdentity | IdentityRefused:
        """As `IdentityProvider.exchange`."""
        ...
