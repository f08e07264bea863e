"""How passwords are turned into something safe to store."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):
    """A one-way, salted, slow password hash.

    The engine hashes `regflow.normalise_password(typed)`; a login must verify the same
    (`verify(stored, normalise_password(typed))`), or a password typed decomposed, or with a
    no-break space, would not match the one registered.
    """

    def hash(self, password: str) -> str:
        """Return an encoded hash that carries its own salt and parameters."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether `password` matches `password_hash`."""
        ...


class AsyncPasswordHasher(Protocol):
    """`PasswordHasher` for `AsyncEngine`: the same methods, awaited (a slow hash run off
    the event loop, in a thread or a process pool)."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...
