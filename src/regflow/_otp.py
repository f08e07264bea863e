"""One-time codes: drawn from `secrets`, kept only as a keyed hash, compared in constant time."""

from __future__ import annotations

import base64
import hmac
import secrets

OTP_DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def code_hash(secret: bytes, flow_id: str, code: str) -> str:
    """HMAC-SHA256 of the code, bound to its flow so a hash is useless for any other flow.

    In unpadded base64url: 43 characters where hex takes 64, for a short stored snapshot.
    """
    digest = hmac.digest(secret, f"{flow_id}:{code}".encode(), "sha256")  # OpenSSL one-shot
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def unmatchable_hash() -> str:
    """A hash in `code_hash`'s shape that no code matches: random bytes, not a digest."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def code_matches(secret: bytes, flow_id: str, typed: object, stored_hash: str) -> bool:
    if not isinstance(typed, str):
        return False
    code = typed.strip()
    if len(code) != OTP_DIGITS or not (code.isascii() and code.isdigit()):
        return False
    return hmac.compare_digest(code_hash(secret, flow_id, code), stored_hash)
