"""A real OpenID Connect provider on loopback, for tests of the sign-up by VNeID; needs the
extra ``regflow[oidc]`` (the rest of `regflow.testing` does not)."""

from regflow.tools._oidc_provider import CLIENT_ID, CLIENT_SECRET, LoopbackProvider, claims_of

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "LoopbackProvider", "claims_of"]
