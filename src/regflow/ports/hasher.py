"""How passwords are turned into something safe to store."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):
    """A one-way, salted, slow password hash."""

    def hash(self, password: str) -> str:
        """Return an encoded hash that carries its own salt and parameters."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether `password` matches `password_hash`."""
        ...
